"""The outbox, the event feed, consumer positions and webhook subscriptions in Postgres."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import asyncpg
import msgspec

from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.tenants import Executor
from tenant_core.change_events import ChangeEvent
from tenant_core.webhooks import Delivery, DeliveryAttempt, DeliveryState, Lease, Webhook

#: The advisory lock the sequencer holds while it numbers events (one sequencer at a time).
SEQUENCER_LOCK = 0x7E4A_0E17
#: The sequencer announces newly numbered events here (payload: the newest position), waking consumers.
EVENTS_CHANNEL = "tenant_events"

_EVENT_SELECT = "p.position, e.id, e.type, e.tenant_id AS subject, e.occurred_at AS time, e.data"
_WEBHOOK_COLUMNS = [f.name for f in msgspec.structs.fields(Webhook)]
_DELIVERY_COLUMNS = [f.name for f in msgspec.structs.fields(Delivery)]
#: What a replace changes: everything but the id and the sealed secret, set when a subscription is created.
_REPLACEABLE = [c for c in _WEBHOOK_COLUMNS if c not in ("id", "key_id", "sealed_secret")]
_attempts = msgspec.json.Decoder(list[DeliveryAttempt])


#: Number up to {limit} unnumbered events in insertion order and announce the newest. The queue rows are
#: taken by DELETE, so a round whose snapshot predates another round's commit skips what that round took
#: (a row deleted meanwhile is not deleted twice); nextval runs once per row in the order the sorted
#: subquery yields them.
_NUMBER = (
    "taken AS (DELETE FROM events_unnumbered WHERE seq = ANY (ARRAY("  # by index: the queue may be long
    "  SELECT seq FROM events_unnumbered {only_if} ORDER BY seq LIMIT {limit})) RETURNING seq), "
    "numbered AS (INSERT INTO event_positions (position, seq, tenant_id) "
    "  SELECT nextval('events_position_seq'), seq, tenant_id FROM "
    "    (SELECT e.seq, e.tenant_id FROM taken t JOIN events e ON e.seq = t.seq ORDER BY e.seq) waiting "
    "  RETURNING position), "
    "summary AS (SELECT count(*) AS numbered, max(position) AS newest FROM numbered) "
    f"SELECT numbered, CASE WHEN numbered > 0 THEN pg_notify('{EVENTS_CHANNEL}', newest::text) END FROM summary"
)
#: For a caller already holding the lock.
_SEQUENCE_LOCKED = "WITH " + _NUMBER.format(only_if="", limit="$1")
#: One statement, its own transaction: numbers nothing unless it gets the lock (another worker is numbering).
_SEQUENCE_NOW = "WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1) AS got), " + _NUMBER.format(
    only_if="WHERE (SELECT got FROM lock)", limit="$2"
)


def _event(row: asyncpg.Record) -> ChangeEvent:
    return msgspec.convert(dict(row), ChangeEvent)


def _webhook(row: asyncpg.Record | None) -> Webhook | None:
    return None if row is None else msgspec.convert(dict(row), Webhook)


def _delivery(row: asyncpg.Record | None) -> Delivery | None:
    if row is None:
        return None
    values = dict(row)
    values["attempts"] = msgspec.convert(values["attempts"], list[DeliveryAttempt])
    values["payload"] = bytes(values["payload"])
    return msgspec.convert(values, Delivery)


class PostgresEventLog:
    """Inside a unit of work, appended events wait in memory and are inserted just before the commit, with
    the audit rows (one statement); they get their feed position later, from :meth:`sequence`."""

    def __init__(self, db: Executor) -> None:
        self._db = db
        self._pending: list[ChangeEvent] = []

    async def append(self, event: ChangeEvent) -> None:
        self._pending.append(event)

    def take(self) -> list[ChangeEvent]:
        """The appended events, handed to the unit of work's commit (see ``tenant_adapters.postgres.storage``)."""
        events, self._pending = self._pending, []
        return events

    async def sequence(self, wait: bool = False, batch: int = 1000) -> int:
        """Number committed events that have no position yet, in insertion order; returns how many.

        One sequencer at a time (an advisory lock held to the end of its transaction), so numbering rounds
        never overlap and positions only grow. ``wait=False`` (the event worker) is one statement; ``wait``
        (a feed read) runs inside the caller's transaction and queues for the lock."""
        with translated():
            if not wait:
                row = await self._db.fetchrow(_SEQUENCE_NOW, SEQUENCER_LOCK, batch)
                return int(row["numbered"])
            await self._db.execute("SELECT pg_advisory_xact_lock($1)", SEQUENCER_LOCK)
            row = await self._db.fetchrow(_SEQUENCE_LOCKED, batch)
        return int(row["numbered"])

    async def read(
        self, after: int, limit: int, types: frozenset[str] | None = None, tenant_id: str | None = None
    ) -> list[ChangeEvent]:
        sql = (
            f"SELECT {_EVENT_SELECT} FROM event_positions p JOIN events e ON e.seq = p.seq WHERE p.position > $1 "
            "AND ($3::text[] IS NULL OR e.type = ANY($3)) AND ($4::text IS NULL OR p.tenant_id = $4) "
            "ORDER BY p.position LIMIT $2"
        )
        with translated():
            rows = await self._db.fetch(sql, after, limit, sorted(types) if types else None, tenant_id)
        return [_event(r) for r in rows]

    async def horizon(self) -> int:
        with translated():
            return await self._db.fetchval("SELECT pruned_through FROM events_horizon")  # type: ignore[no-any-return]

    async def newest(self) -> int:
        sql = (
            "SELECT greatest((SELECT max(position) FROM event_positions), (SELECT pruned_through FROM events_horizon))"
        )
        with translated():
            return await self._db.fetchval(sql)  # type: ignore[no-any-return]

    async def prune(self, before: datetime) -> int:
        # A prefix of the feed goes, so "at or below the horizon" is exactly what was removed.
        sql = (
            "WITH cut AS (SELECT max(p.position) AS through FROM event_positions p JOIN events e ON e.seq = p.seq "
            "  WHERE e.occurred_at < $1), "
            "unnumbered AS (DELETE FROM event_positions WHERE position <= (SELECT through FROM cut) RETURNING seq), "
            "gone AS (DELETE FROM events WHERE seq IN (SELECT seq FROM unnumbered) RETURNING seq), "
            "moved AS (UPDATE events_horizon SET pruned_through = greatest(pruned_through, (SELECT through FROM cut)) "
            "WHERE (SELECT through FROM cut) IS NOT NULL) "
            "SELECT count(*) FROM gone"
        )
        with translated():
            return await self._db.fetchval(sql, before)  # type: ignore[no-any-return]


class PostgresEventConsumers:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def claim(self, name: str) -> int | None:
        lock = "SELECT position FROM event_consumers WHERE name = $1 FOR UPDATE SKIP LOCKED"
        with translated():
            position = await self._db.fetchval(lock, name)
            if position is not None:
                return position  # type: ignore[no-any-return]
            if await self._db.fetchval("SELECT true FROM event_consumers WHERE name = $1", name):
                return None  # another worker holds it
            # A consumer never seen before (the migration creates the usual ones).
            await self._db.execute("INSERT INTO event_consumers (name) VALUES ($1) ON CONFLICT DO NOTHING", name)
            return await self._db.fetchval(lock, name)  # type: ignore[no-any-return]

    async def advance(self, name: str, position: int) -> None:
        with translated():
            await self._db.execute("UPDATE event_consumers SET position = $2 WHERE name = $1", name, position)


class PostgresWebhookRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add(self, webhook: Webhook) -> Webhook:
        columns = ", ".join(_WEBHOOK_COLUMNS)
        values = ", ".join(f"${i}" for i in range(1, len(_WEBHOOK_COLUMNS) + 1))
        with translated():
            row = await self._db.fetchrow(
                f"INSERT INTO webhooks ({columns}) VALUES ({values}) RETURNING *", *_webhook_params(webhook)
            )
        return _webhook(row)  # type: ignore[return-value]

    async def get(self, webhook_id: str) -> Webhook | None:
        with translated():
            return _webhook(await self._db.fetchrow("SELECT * FROM webhooks WHERE id = $1", webhook_id))

    async def list(self) -> list[Webhook]:
        with translated():
            rows = await self._db.fetch("SELECT * FROM webhooks ORDER BY created_at, id")
        return [_webhook(r) for r in rows]  # type: ignore[misc]

    async def replace(self, webhook: Webhook) -> Webhook | None:
        # The sealed secret is never replaced: key rotation may have re-sealed it since ``webhook`` was read.
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_REPLACEABLE, start=2))
        values = [getattr(webhook, c) for c in _REPLACEABLE]
        with translated():
            row = await self._db.fetchrow(f"UPDATE webhooks SET {sets} WHERE id = $1 RETURNING *", webhook.id, *values)
        return _webhook(row)

    async def remove(self, webhook_id: str) -> bool:
        with translated():
            return await self._db.fetchval("DELETE FROM webhooks WHERE id = $1 RETURNING true", webhook_id) is True

    async def enqueue(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        columns = ", ".join(_DELIVERY_COLUMNS)
        values = ", ".join(f"${i}" for i in range(1, len(_DELIVERY_COLUMNS) + 1))
        sql = (
            f"INSERT INTO webhook_deliveries ({columns}) VALUES ({values}) "
            "ON CONFLICT (webhook_id, event_id) DO NOTHING"
        )
        with translated():
            await self._db.executemany(sql, [_delivery_params(d) for d in deliveries])

    async def claim_due(self, now: datetime, lease: Lease, lines: int, per_line: int) -> list[Delivery]:
        # A line (subscription × tenant) is claimed through its head, the oldest pending delivery: a worker
        # that cannot lock the head (another is claiming the line) skips the whole line, so two workers never
        # send one line's deliveries side by side. The lease conditions sit on the locked rows themselves, so
        # a line another worker leased and committed in between is re-checked and skipped (READ COMMITTED
        # re-evaluates them on the new row).
        sql = (
            "WITH heads AS (SELECT DISTINCT ON (webhook_id, tenant_id) id, next_attempt_at FROM webhook_deliveries "
            "  WHERE state = 'pending' ORDER BY webhook_id, tenant_id, event_position), "
            "claimed_heads AS (SELECT d.webhook_id, d.tenant_id FROM webhook_deliveries d JOIN heads h ON h.id = d.id "
            "  WHERE d.state = 'pending' AND d.next_attempt_at <= $1 "
            "  AND (d.leased_until IS NULL OR d.leased_until <= $1) "
            "  ORDER BY h.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED), "
            "ranked AS (SELECT d.id, row_number() OVER (PARTITION BY d.webhook_id, d.tenant_id "
            "  ORDER BY d.event_position) AS n FROM webhook_deliveries d "
            "  JOIN claimed_heads USING (webhook_id, tenant_id) "
            "  WHERE d.state = 'pending'), "
            "picked AS (SELECT d.id FROM webhook_deliveries d JOIN ranked r ON r.id = d.id WHERE r.n <= $4 "
            "  AND d.state = 'pending' AND (d.leased_until IS NULL OR d.leased_until <= $1) FOR UPDATE OF d) "
            "UPDATE webhook_deliveries w SET leased_until = $2, leased_by = $5 FROM picked WHERE w.id = picked.id "
            "RETURNING w.*"
        )
        with translated():
            rows = await self._db.fetch(sql, now, lease.until, lines, per_line, lease.holder)
        claimed = [_delivery(r) for r in rows]
        return sorted(claimed, key=lambda d: (d.webhook_id, d.tenant_id, d.event_position))  # type: ignore[union-attr]

    async def renew(self, delivery_ids: list[str], lease: Lease) -> bool:
        if not delivery_ids:
            return True
        # All or nothing, in one statement: the rows are locked, so a claim racing this one waits for it (and
        # then finds the lease extended) or committed first (and this finds another holder, extending none).
        sql = (
            "WITH mine AS (SELECT id FROM webhook_deliveries WHERE id = ANY($1) AND leased_by = $2 "
            "  AND state = 'pending' FOR UPDATE), "
            "whole AS (SELECT count(*) = cardinality($1::text[]) AS ok FROM mine), "
            "renewed AS (UPDATE webhook_deliveries w SET leased_until = $3 FROM mine "
            "  WHERE w.id = mine.id AND (SELECT ok FROM whole) RETURNING w.id) "
            "SELECT ok FROM whole"
        )
        with translated():
            return await self._db.fetchval(sql, delivery_ids, lease.holder, lease.until)  # type: ignore[no-any-return]

    async def release(self, delivery_ids: list[str], holder: str) -> None:
        if delivery_ids:
            with translated():
                await self._db.execute(
                    "UPDATE webhook_deliveries SET leased_until = NULL, leased_by = NULL "
                    "WHERE id = ANY($1) AND leased_by = $2",
                    delivery_ids,
                    holder,
                )

    async def record_attempt(
        self, delivery_id: str, attempt: DeliveryAttempt, state: DeliveryState, next_attempt_at: datetime, holder: str
    ) -> None:
        # The reservation goes if it is the recorder's (or unnamed, from a version before holders).
        mine = "coalesce(leased_by, $5) = $5"
        sql = (
            "UPDATE webhook_deliveries SET attempts = attempts || $2::jsonb, state = $3, next_attempt_at = $4, "
            f"leased_until = CASE WHEN {mine} THEN NULL ELSE leased_until END, "
            f"leased_by = CASE WHEN {mine} THEN NULL ELSE leased_by END WHERE id = $1"
        )
        with translated():
            await self._db.execute(
                sql, delivery_id, [msgspec.to_builtins(attempt)], state.value, next_attempt_at, holder
            )

    async def deliveries(self, webhook_id: str, limit: int, before: str | None = None) -> list[Delivery]:
        sql = (
            "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND ($3::text IS NULL OR (created_at, id) < "
            "(SELECT created_at, id FROM webhook_deliveries WHERE id = $3)) ORDER BY created_at DESC, id DESC LIMIT $2"
        )
        with translated():
            rows = await self._db.fetch(sql, webhook_id, limit, before)
        return [_delivery(r) for r in rows]  # type: ignore[misc]

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        sql = "SELECT * FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2"
        with translated():
            return _delivery(await self._db.fetchrow(sql, delivery_id, webhook_id))

    async def requeue(self, webhook_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        sql = (
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3 "
            "WHERE id = $1 AND webhook_id = $2 RETURNING *"
        )
        with translated():
            return _delivery(await self._db.fetchrow(sql, delivery_id, webhook_id, now))


def _webhook_params(webhook: Webhook) -> list[object]:
    return [getattr(webhook, c) for c in _WEBHOOK_COLUMNS]


def _delivery_params(delivery: Delivery) -> list[object]:
    values = [getattr(delivery, c) for c in _DELIVERY_COLUMNS]
    values[_DELIVERY_COLUMNS.index("attempts")] = msgspec.to_builtins(delivery.attempts)
    values[_DELIVERY_COLUMNS.index("state")] = delivery.state.value
    return values


class EventListener:
    """One connection LISTENing for committed events (each notification carries the newest position); wakes
    every waiter on each one. Notifications are a shortcut, not a guarantee: waiters also time out."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._signal = asyncio.Event()
        self._latest = 0

    async def wait(self, after: int, at_most: float) -> int:
        if self._connection is None or self._connection.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                await self._connect()
        if self._latest <= after:
            signal = self._signal
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), at_most)
        return max(after, self._latest)

    async def _connect(self) -> None:
        self._connection = await asyncpg.connect(self._dsn, timeout=5)
        await self._connection.add_listener(EVENTS_CHANNEL, self._notified)

    def poke(self) -> None:
        """Wake the waiters now (this process committed events)."""
        self._signal.set()
        self._signal = asyncio.Event()

    def _notified(self, connection: object, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._latest = max(self._latest, int(payload))
        self._signal.set()
        self._signal = asyncio.Event()

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)
