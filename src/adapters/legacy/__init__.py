"""Reading the platform's old tenant service database (read-only), for ``tenant-service import-legacy``."""

from adapters.legacy.postgres import PostgresLegacySource

__all__ = ["PostgresLegacySource"]
