"""Cache invalidations through Postgres: announced with the commit, followed on one LISTEN connection.

A unit of work announces its stale keys with ``pg_notify`` inside its own transaction, in the statement that
writes its audit rows just before the commit. PostgreSQL delivers a notification only if the transaction
commits, and the committing server process signals every listener during the commit, before its client is
told the commit succeeded: a writer that dies right after its commit has still announced it.

Each process follows the channel on one connection of its own and confirms, every ``confirm_every`` seconds,
that it is up to date, with a round trip on that connection. PostgreSQL 14 and later send a listener every
pending notification before they answer its query (``ReadyForQuery``), and asyncpg runs listener callbacks in
the order the messages arrived, before the query's caller resumes. So once a confirmation sent at time *s*
returns, every change acknowledged before *s* has been delivered. ``current()`` holds while the latest
confirmation was sent less than ``bound`` seconds ago; caches serve nothing while it does not (a late
confirmation, a lost connection), and after a lost connection ``on_gap`` runs before anything is served again.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

import asyncpg
import msgspec
from loguru import logger

#: Payload: a JSON list of cache keys.
CHANNEL = "tenant_cache"
#: The follower's ``application_name``, to find it in ``pg_stat_activity``.
NAME = "tenant-service cache follower"
#: PostgreSQL refuses payloads of 8000 bytes or more: announcements are split below that.
_PAYLOAD_LIMIT = 7000

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(list[str]).decode


def payloads(keys: Iterable[str]) -> list[bytes]:
    """``keys`` as JSON lists of at most ``_PAYLOAD_LIMIT`` bytes each (a key is far shorter than that)."""
    chunks: list[list[str]] = [[]]
    size = 2
    for key in sorted(set(keys)):
        cost = len(_encode(key)) + 1
        if chunks[-1] and size + cost > _PAYLOAD_LIMIT:
            chunks.append([])
            size = 2
        chunks[-1].append(key)
        size += cost
    return [_encode(chunk) for chunk in chunks if chunk]


class PostgresCacheInvalidations:
    """The keys one unit of work makes stale. Its commit sends :meth:`notices` with ``pg_notify``, in the same
    statement as its audit rows (``tenant_adapters.postgres.storage.write_audit_and_events``)."""

    def __init__(self) -> None:
        self._keys: list[str] = []

    def add(self, keys: Iterable[str]) -> None:
        self._keys.extend(keys)

    def notices(self) -> list[str]:
        """The notification payloads announcing the keys added so far (and forgets them)."""
        keys, self._keys = self._keys, []
        return [payload.decode() for payload in payloads(keys)]


class PostgresInvalidationFollower:
    """Follows :data:`CHANNEL` on a connection of its own (``start`` it, then ``close`` it)."""

    def __init__(
        self,
        dsn: str,
        *,
        bound: float = 0.1,
        confirm_every: float = 0.02,
        give_up_after: float = 2.0,
        reconnect_after: float = 0.5,
    ) -> None:
        """``bound``: how old a confirmation may be for caches to be served. ``give_up_after``: a confirmation
        that takes longer means the connection is unusable; it is dropped and opened again."""
        self.bound = bound
        self._dsn = dsn
        self._every = confirm_every
        self._give_up_after = give_up_after
        self._reconnect_after = reconnect_after
        self._confirmed_at = -math.inf  # time.monotonic() at which the latest completed confirmation was sent
        self._on_stale: list[Callable[[Sequence[str]], None]] = []
        self._on_gap: list[Callable[[], Awaitable[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._confirmed = asyncio.Event()  # set, and replaced, after each confirmation

    def subscribe(self, on_stale: Callable[[Sequence[str]], None], on_gap: Callable[[], Awaitable[None]]) -> None:
        self._on_stale.append(on_stale)
        self._on_gap.append(on_gap)

    def current(self) -> bool:
        return time.monotonic() - self._confirmed_at <= self.bound

    async def caught_up(self) -> None:
        asked = time.monotonic()
        while self._confirmed_at < asked:  # a confirmation sent after this call covers what came before it
            await self._confirmed.wait()

    async def start(self, wait_seconds: float = 5.0) -> None:
        """Start following; waits (briefly) for the first confirmation, so that caching works from the start."""
        self._task = asyncio.create_task(self._follow(), name="cache-invalidation-follower")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_seconds):
                await self.caught_up()

    async def close(self) -> None:
        self._closing = True  # a cancellation can be lost (asyncio.wait_for in 3.11, redis-py): the loop checks
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self) -> None:
        lost = False
        while not self._closing:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=5, server_settings={"application_name": NAME})
                await connection.add_listener(CHANNEL, self._notified)
                for on_gap in self._on_gap:  # announcements made before LISTEN took effect were missed
                    await on_gap()
                if lost:
                    logger.info("Cache invalidation feed restored; caches serve again")
                    lost = False
                while not self._closing:
                    sent = time.monotonic()
                    async with asyncio.timeout(self._give_up_after):
                        await connection.execute("SELECT 1")
                    self._confirmed_at = sent
                    self._confirmed.set()
                    self._confirmed = asyncio.Event()
                    await asyncio.sleep(self._every)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dropped, refused or stuck connection: all the same to the caches
                self._confirmed_at = -math.inf
                if not lost:
                    logger.warning(
                        "Cache invalidation feed lost ({}); caches bypassed, answers come from the database",
                        type(exc).__name__,
                    )
                    lost = True
                await asyncio.sleep(self._reconnect_after)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=1)

    def _notified(self, connection: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        try:
            keys = _decode(payload)
        except msgspec.DecodeError:
            # Something else notifies on this channel. What it meant is unknown, so treat it as a gap: drop
            # the connection, and the next one starts by forgetting everything.
            logger.error("Unreadable cache invalidation ({} bytes); following again from scratch", len(payload))
            self._confirmed_at = -math.inf
            connection.terminate()
            return
        for on_stale in self._on_stale:
            on_stale(keys)
