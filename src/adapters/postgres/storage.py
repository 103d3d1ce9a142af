"""Postgres implementation of the :class:`~tenant_core.ports.Storage` and unit-of-work ports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Self

import asyncpg

from adapters.postgres.credentials import PostgresCredentialStore
from adapters.postgres.errors import translated
from adapters.postgres.events import (
    EventListener,
    PostgresEventConsumers,
    PostgresEventLog,
    PostgresWebhookRepository,
)
from adapters.postgres.migrations import expected_migration_ids
from adapters.postgres.security import PostgresApiKeyRepository, PostgresAuditLog
from adapters.postgres.signup import PostgresSignupNonces
from adapters.postgres.tenants import PostgresIdempotencyKeys, PostgresTenantRepository


class PostgresUnitOfWork:
    """One connection, one transaction: commit on clean exit, roll back on any exception."""

    def __init__(self, pool: asyncpg.Pool, on_events: Callable[[], None] | None = None) -> None:
        self._pool = pool
        self._on_events = on_events

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
        self.events = PostgresEventLog(self._connection)
        self.consumers = PostgresEventConsumers(self._connection)
        self.webhooks = PostgresWebhookRepository(self._connection)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            with translated():
                if exc_type is None:
                    wrote_events = await self.events.flush()
                    await self._transaction.commit()
                    if wrote_events and self._on_events is not None:
                        self._on_events()  # this process's event worker numbers them at once
                else:
                    await self._transaction.rollback()
        finally:
            await self._pool.release(self._connection)


class PostgresStorage:
    """``dsn``, when given, lets :meth:`wait_for_events` LISTEN on its own connection; without it, it polls."""

    def __init__(self, pool: asyncpg.Pool, dsn: str | None = None) -> None:
        self._pool = pool
        self._listener = EventListener(dsn) if dsn else None
        self._committed = asyncio.Event()
        self._uncounted_commits = False
        self.tenants = PostgresTenantRepository(pool)
        self.idempotency = PostgresIdempotencyKeys(pool)
        self.api_keys = PostgresApiKeyRepository(pool)
        self.audit = PostgresAuditLog(pool)
        self.credentials = PostgresCredentialStore(pool)
        self.signup_nonces = PostgresSignupNonces(pool)
        self.events = PostgresEventLog(pool)
        self.webhooks = PostgresWebhookRepository(pool)

    async def wait_for_events(self, after: int, at_most: float) -> int:
        """Wakes on this process's commits of events at once, on other processes' through the sequencer's
        notification (when ``dsn`` was given), and otherwise after ``at_most`` seconds."""
        if self._uncounted_commits:  # committed while the caller was busy: no need to wait
            self._uncounted_commits = False
            return after
        if self._listener is None:
            committed = self._committed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(committed.wait(), at_most)
            newest = after
        else:
            newest = await self._listener.wait(after, at_most)
        self._uncounted_commits = False
        return newest

    def _events_committed(self) -> None:
        self._uncounted_commits = True
        if self._listener is not None:
            self._listener.poke()
        self._committed.set()
        self._committed = asyncio.Event()

    async def close(self) -> None:
        """Close the listening connection (the pool is closed by its owner)."""
        if self._listener is not None:
            await self._listener.close()

    def unit_of_work(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self._pool, self._events_committed)

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
