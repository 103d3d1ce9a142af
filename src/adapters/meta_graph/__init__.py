"""Meta Graph API adapter (httpx)."""

from tenant_adapters.meta_graph.client import DEFAULT_GRAPH_URL, DEFAULT_GRAPH_VERSION, HttpMetaGraph

__all__ = ["DEFAULT_GRAPH_URL", "DEFAULT_GRAPH_VERSION", "HttpMetaGraph"]
