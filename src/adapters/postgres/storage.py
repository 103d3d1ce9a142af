"""Postgres implementation of the :class:`~tenant_core.ports.Storage` and unit-of-work ports."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import asyncpg

from adapters.postgres.credentials import PostgresCredentialStore
from adapters.postgres.errors import translated
from adapters.postgres.migrations import expected_migration_ids
from adapters.postgres.security import PostgresApiKeyRepository, PostgresAuditLog
from adapters.postgres.signup import PostgresSignupNonces
from adapters.postgres.tenants import PostgresIdempotencyKeys, PostgresTenantRepository


class PostgresUnitOfWork:
    """One connection, one transaction: commit on clean exit, roll back on any exception."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def __aenter__(self) -> Self:
        with translated():
            self._connection = await self._pool.acquire()
            try:
                self._transaction = self._connection.transaction()
                await self._transaction.start()
            except BaseException:
                await self._pool.release(self._connection)
                raise
        self.tenants = PostgresTenantRepository(self._connection)
        self.idempotency = PostgresIdempotencyKeys(self._connection)
        self.api_keys = PostgresApiKeyRepository(self._connection)
        self.audit = PostgresAuditLog(self._connection)
        self.credentials = PostgresCredentialStore(self._connection)
        self.signup_nonces = PostgresSignupNonces(self._connection)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            with translated():
                if exc_type is None:
                    await self._transaction.commit()
                else:
                    await self._transaction.rollback()
        finally:
            await self._pool.release(self._connection)


class PostgresStorage:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.tenants = PostgresTenantRepository(pool)
        self.idempotency = PostgresIdempotencyKeys(pool)
        self.api_keys = PostgresApiKeyRepository(pool)
        self.audit = PostgresAuditLog(pool)
        self.credentials = PostgresCredentialStore(pool)
        self.signup_nonces = PostgresSignupNonces(pool)

    def unit_of_work(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self._pool)

    async def ping(self) -> None:
        with translated():
            await self._pool.fetchval("SELECT 1")

    def pool_usage(self) -> tuple[int, int]:
        """``(connections open, idle)`` of the pool."""
        return self._pool.get_size(), self._pool.get_idle_size()

    async def missing_migrations(self) -> set[str]:
        """Migration ids in ``migrations/`` that this database has not applied."""
        with translated():
            exists = await self._pool.fetchval("SELECT to_regclass('_yoyo_migration') IS NOT NULL")
            rows = await self._pool.fetch("SELECT migration_id FROM _yoyo_migration") if exists else []
        return expected_migration_ids() - {r["migration_id"] for r in rows}
