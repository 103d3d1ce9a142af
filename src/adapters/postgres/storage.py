"""Postgres implementation of the :class:`~tenant_core.ports.Storage` and unit-of-work ports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from types import TracebackType
from typing import Self

import asyncpg
import msgspec

from tenant_adapters.postgres.credentials import PostgresCredentialStore
from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.feed import EventListener, PostgresEventConsumers, PostgresEventLog
from tenant_adapters.postgres.invalidations import (
    CHANNEL,
    PostgresCacheInvalidations,
    PostgresInvalidationFollower,
)
from tenant_adapters.postgres.legacy_imports import PostgresImportRecords
from tenant_adapters.postgres.locks import PostgresFleetLocks
from tenant_adapters.postgres.migrations import expected_migration_ids
from tenant_adapters.postgres.sealed import PostgresSealedValues
from tenant_adapters.postgres.security import PostgresApiKeyRepository, PostgresAuditLog
from tenant_adapters.postgres.signup import PostgresSignupNonces
from tenant_adapters.postgres.tenants import PostgresIdempotencyKeys, PostgresTenantRepository
from tenant_adapters.postgres.webhooks import PostgresWebhookRepository
from tenant_core.change_events import ChangeEvent
from tenant_core.connections import EXPIRING_WITHIN, TokenHealth
from tenant_core.entities import AuditEvent
from tenant_core.operations import Backlog, ConnectionsHealth

_AUDIT_ROWS = (
    "audit AS (INSERT INTO audit_log (at, actor, action, tenant_id, changes, request_id) "
    "SELECT at, actor, action, tenant_id, ARRAY(SELECT jsonb_array_elements_text(changes::jsonb)), request_id "
    "FROM unnest({}::timestamptz[], {}::text[], {}::text[], {}::text[], {}::text[], {}::text[]) "
    "AS rows (at, actor, action, tenant_id, changes, request_id))"
)
#: Events go in with their place in the queue of unnumbered events (see ``PostgresEventLog.sequence``).
_EVENT_ROWS = (
    "written AS (INSERT INTO events (id, type, tenant_id, occurred_at, data) "
    "SELECT * FROM unnest({}::text[], {}::text[], {}::text[], {}::timestamptz[], {}::jsonb[]) RETURNING seq), "
    "queued AS (INSERT INTO events_unnumbered (seq) SELECT seq FROM written)"
)
#: Cache invalidations (see ``tenant_adapters.postgres.invalidations``): sent when, and if, the transaction commits.
_NOTIFY = f"SELECT count(pg_notify('{CHANNEL}', payload)) FROM unnest({{}}::text[]) AS payload"

#: One reading of the event machinery's waiting work (each part is an index scan or a one-row read).
_BACKLOG = (
    "SELECT (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') AS pending_deliveries, "
    "(SELECT min(created_at) FROM webhook_deliveries WHERE state = 'pending') AS oldest_pending_delivery_at, "
    "(SELECT count(*) FROM webhooks WHERE status = 'failing') AS failing_subscriptions, "
    "(SELECT count(*) FROM events_unnumbered) AS unnumbered_events, "
    "(SELECT occurred_at FROM events WHERE seq = (SELECT min(seq) FROM events_unnumbered)) "
    "  AS oldest_unnumbered_event_at, "
    "greatest(0, greatest((SELECT max(position) FROM event_positions), (SELECT pruned_through FROM events_horizon)) "
    "  - coalesce((SELECT position FROM event_consumers WHERE name = $1), 0)) AS unrelayed_events"
)

#: The stored connections of tenants not deleted by type and health: the rule of ``ConnectionStatus.health``
#: in SQL ($1 now, $2 how early a token counts as expiring), kept equal to it by the operations contract test.
_CONNECTIONS = """
WITH live AS (
    SELECT c.type, c.status,
           coalesce((c.status->'lastCheck'->>'checkedAt')::timestamptz, c.updated_at) AS checked,
           least((c.status->>'tokenExpiresAt')::timestamptz, (c.status->>'dataAccessExpiresAt')::timestamptz) AS ends
    FROM credentials c JOIN tenants t ON t.id = c.tenant_id
    WHERE t.status <> 'deleted'
), judged AS (
    SELECT type, checked, ends,
           CASE WHEN coalesce((status->>'tokenInvalid')::boolean, false) THEN 'invalid'
                WHEN NOT coalesce((status->>'tokenChecked')::boolean, false) THEN 'unknown'
                WHEN ends <= $1 THEN 'invalid'
                WHEN ends - $1 <= $2 THEN 'expiring'
                ELSE 'ok' END AS health
    FROM live
)
SELECT type, health, count(*) AS n, min(ends) AS next_end, min(checked) AS oldest
FROM judged GROUP BY type, health
"""

#: Health values in which a connection still works: its expiry is the next one to watch.
_WORKING = (TokenHealth.OK.value, TokenHealth.EXPIRING.value)


async def write_audit_and_events(
    db: asyncpg.Connection, audit: list[AuditEvent], events: list[ChangeEvent], notices: list[str] | None = None
) -> None:
    """A unit of work's audit rows, change events and cache-invalidation notices, in one statement just before
    its commit: the outbox and the announcement then cost what they write, not more round trips. (Data-modifying
    ``WITH`` parts always run to completion, whether or not the final ``SELECT`` reads them.)"""
    args: list[object] = []

    def placeholders(values: list[object]) -> list[str]:
        args.extend(values)
        return [f"${n}" for n in range(len(args) - len(values) + 1, len(args) + 1)]

    parts = []
    if audit:
        audit_args: list[object] = [
            [a.at for a in audit],
            [a.actor for a in audit],
            [a.action for a in audit],
            [a.tenant_id for a in audit],
            [msgspec.json.encode(a.changes).decode() for a in audit],  # a list per row: one JSON text each
            [a.request_id for a in audit],
        ]
        parts.append(_AUDIT_ROWS.format(*placeholders(audit_args)))
    if events:
        event_args: list[object] = [[e.id for e in events], [e.type for e in events], [e.subject for e in events]]
        event_args += [[e.time for e in events], [e.data for e in events]]
        parts.append(_EVENT_ROWS.format(*placeholders(event_args)))
    if not parts and not notices:
        return
    final = _NOTIFY.format(*placeholders([notices])) if notices else "SELECT 1"
    await db.execute(("WITH " + ", ".join(parts) + " " if parts else "") + final, *args)


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
        self.invalidations = PostgresCacheInvalidations()
        self.tenants = PostgresTenantRepository(self._connection)
        self.idempotency = PostgresIdempotencyKeys(self._connection)
        self.api_keys = PostgresApiKeyRepository(self._connection)
        self._audit_rows: list[AuditEvent] = []
        self.audit = PostgresAuditLog(self._connection, deferred=self._audit_rows)
        self.credentials = PostgresCredentialStore(self._connection, lock_reads=True)
        self.signup_nonces = PostgresSignupNonces(self._connection)
        self.events = PostgresEventLog(self._connection)
        self.consumers = PostgresEventConsumers(self._connection)
        self.webhooks = PostgresWebhookRepository(self._connection)
        self.legacy_imports = PostgresImportRecords(self._connection)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            with translated():
                if exc_type is None:
                    events = self.events.take()
                    notices = self.invalidations.notices()
                    await write_audit_and_events(self._connection, self._audit_rows, events, notices)
                    await self._transaction.commit()
                    wrote_events = bool(events)
                    if wrote_events and self._on_events is not None:
                        self._on_events()  # this process's event worker numbers them at once
                else:
                    await self._transaction.rollback()
        finally:
            await self._pool.release(self._connection)


class PostgresStorage:
    """``dsn``, when given, lets :meth:`wait_for_events` LISTEN on its own connection (without it, it polls) and
    :meth:`follow_invalidations` follow the cache invalidations every process commits."""

    def __init__(self, pool: asyncpg.Pool, dsn: str | None = None) -> None:
        self._pool = pool
        self._dsn = dsn
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
        self.legacy_imports = PostgresImportRecords(pool)
        self.sealed = PostgresSealedValues(pool)
        self.locks = PostgresFleetLocks(pool)

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

    @contextlib.asynccontextmanager
    async def follow_invalidations(self) -> AsyncIterator[PostgresInvalidationFollower]:
        """Follow committed cache invalidations on a connection of its own (needs ``dsn``)."""
        if self._dsn is None:
            raise ValueError("PostgresStorage needs its dsn to follow cache invalidations")
        follower = PostgresInvalidationFollower(self._dsn)
        await follower.start()
        try:
            yield follower
        finally:
            await follower.close()

    async def ping(self) -> None:
        with translated():
            await self._pool.fetchval("SELECT 1")

    def pool_usage(self) -> tuple[int, int]:
        """``(connections open, idle)`` of the pool."""
        return self._pool.get_size(), self._pool.get_idle_size()

    async def backlog(self, relay: str) -> Backlog:
        with translated():
            row = await self._pool.fetchrow(_BACKLOG, relay)
        return Backlog(**dict(row))

    async def connections(self, now: datetime) -> ConnectionsHealth:
        with translated():
            rows = await self._pool.fetch(_CONNECTIONS, now, EXPIRING_WITHIN)
        counts: dict[str, dict[str, int]] = {}
        expiries: dict[str, datetime] = {}
        oldest: dict[str, datetime] = {}
        for row in rows:
            kind = row["type"]
            counts.setdefault(kind, {})[row["health"]] = row["n"]
            oldest[kind] = min(oldest.get(kind, row["oldest"]), row["oldest"])
            if (ends := row["next_end"]) is not None and row["health"] in _WORKING:
                expiries[kind] = min(expiries.get(kind, ends), ends)
        return ConnectionsHealth(counts=counts, next_expiry=expiries, oldest_check=oldest)

    async def missing_migrations(self) -> set[str]:
        """Migration ids in ``migrations/`` that this database has not applied."""
        with translated():
            exists = await self._pool.fetchval("SELECT to_regclass('_yoyo_migration') IS NOT NULL")
            rows = await self._pool.fetch("SELECT migration_id FROM _yoyo_migration") if exists else []
        return expected_migration_ids() - {r["migration_id"] for r in rows}
