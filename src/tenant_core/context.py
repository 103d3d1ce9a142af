"""Per-request context that use cases read but do not own (set by the entrypoint, e.g. from X-Request-ID)."""

from __future__ import annotations

from contextvars import ContextVar

#: The id of the request being served, recorded in audit events; ``None`` outside a request.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
