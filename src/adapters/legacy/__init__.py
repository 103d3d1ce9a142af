"""Reading the platform's old tenant service database (read-only), for ``tenant-service import-legacy``."""

from tenant_adapters.legacy.postgres import PostgresLegacySource

__all__ = ["PostgresLegacySource"]
