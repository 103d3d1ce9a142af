"""The outbox and the event feed in Postgres: numbering committed events, reading them, consumer positions,
and the connection that listens for newly numbered ones."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import asyncpg
import msgspec

from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.tenants import Executor
from tenant_core.change_events import ChangeEvent

#: The advisory lock the sequencer holds while it numbers events (one sequencer at a time).
SEQUENCER_LOCK = 0x7E4A_0E17
#: The sequencer announces newly numbered events here (payload: the newest position), waking consumers.
EVENTS_CHANNEL = "tenant_events"

_EVENT_SELECT = "p.position, e.id, e.type, e.tenant_id AS subject, e.occurred_at AS time, e.data"
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
