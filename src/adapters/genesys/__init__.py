"""Genesys Cloud over HTTP: the calls of the connection check."""

from tenant_adapters.genesys.client import HttpGenesysCloud

__all__ = ["HttpGenesysCloud"]
