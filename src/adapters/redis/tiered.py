"""Two-level cache: a per-process dictionary (L1) in front of Redis (L2), kept honest by committed changes.

Every process follows the invalidations that committed changes announce through the database (an
:class:`~tenant_core.ports.InvalidationFollower`): on each, it drops the keys from its L1 at once and bumps
their generations in Redis too, so a writer that died right after its commit cannot leave Redis stale. Until
its own bump has landed, a key is read from neither level here (it is *unsettled*): Redis may still hold the
old value. The writer's own ``invalidate`` after its commit does the same, so it never reads its write stale.

Neither level is served while the follower is not current (a late confirmation, a lost connection): reads are
then misses and the service answers from the database. After a gap in the feed, L1 is emptied and Redis moves
to a new epoch before anything is served again, since a missed announcement may have been missed by every
process. L1 entries carry a local generation, so a slow reader cannot re-plant a value an invalidation
removed, and they expire after a short TTL as a last line of defence.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from tenant_adapters.redis.cache import RedisCache
from tenant_core.ports import InvalidationFollower


class TieredCache:
    """A per-process L1 in front of :class:`RedisCache`, invalidated over Redis pub/sub and bypassed while
    not subscribed."""

    def __init__(
        self,
        l2: RedisCache,
        follower: InvalidationFollower,
        *,
        l1_ttl_seconds: float = 30.0,
        max_entries: int = 10_000,  # per worker: ~10-20 MB; the hot set of tenants, not all of them
        on_lookup: Callable[[str, bool], None] | None = None,
    ) -> None:
        """``on_lookup(level, hit)`` is told of every read, per level (for metrics)."""
        self._on_lookup = on_lookup or (lambda level, hit: None)
        self._l2 = l2
        self._current = follower.current
        self._l1_ttl = l1_ttl_seconds
        self._max_entries = max_entries
        self._entries: dict[str, tuple[bytes, bytes, int, float]] = {}  # key → (value, l2 stamp, gen, expires)
        self._generations: dict[str, int] = {}
        self._floor = 0
        self._unsettled: Counter[str] = Counter()  # key → Redis bumps started for it and not yet done
        self._to_settle: Counter[str] = Counter()  # announced by other processes, waiting for the settler
        self._wake_settler = asyncio.Event()
        self._settler: asyncio.Task[None] | None = None
        self._closed = False
        follower.subscribe(self._announced, self._gap)

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start bumping in Redis what other processes' changes made stale. What was announced before this
        cache subscribed may have been missed by every process (a writer that died alone): a new epoch."""
        await self._gap()
        self._settler = asyncio.create_task(self._settle(), name="cache-l2-invalidations")

    async def close(self) -> None:
        self._closed = True  # redis-py may swallow a cancellation mid-command; the loop then ends on this
        self._wake_settler.set()
        if self._settler is not None:
            self._settler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._settler

    # -- the Cache port ------------------------------------------------------------------------------

    async def read(self, key: str) -> tuple[bytes | None, bytes]:
        if not self._current():
            self._on_lookup("l1", False)
            return None, b""  # an empty stamp: nothing read now is stored either
        generation = self._generations.get(key, self._floor)
        entry = self._entries.get(key)
        if entry is not None and entry[2] == generation and entry[3] > time.monotonic():
            self._on_lookup("l1", True)
            return entry[0], b"%d|%s" % (generation, entry[1])
        self._on_lookup("l1", False)
        if key in self._unsettled:
            return None, b"%d|" % generation  # Redis may still hold the old value: load, keep it in L1 only
        value, stamp = await self._l2.read(key)
        self._on_lookup("l2", value is not None)
        if value is not None:
            self._remember(key, value, stamp, generation)
        return value, b"%d|%s" % (generation, stamp)

    async def write(self, key: str, value: bytes, stamp: bytes, ttl_seconds: float) -> None:
        if not stamp:
            return
        generation, _, l2_stamp = stamp.partition(b"|")
        await self._l2.write(key, value, l2_stamp, ttl_seconds)
        if int(generation) == self._generations.get(key, self._floor):
            self._remember(key, value, l2_stamp, int(generation), min(ttl_seconds, self._l1_ttl))

    async def invalidate(self, keys: Iterable[str]) -> None:
        """The writer's own invalidation, after its commit: this process and Redis, before it answers."""
        keys = list(keys)
        self._drop(keys)
        self._unsettled.update(keys)
        try:
            await self._l2.invalidate(keys)
        finally:
            self._unsettle(Counter(keys))

    async def status(self) -> str:
        return await self._l2.status()

    # -- internals -----------------------------------------------------------------------------------

    def _announced(self, keys: Sequence[str]) -> None:
        """A committed change (from any process) made ``keys`` stale: drop them here now, in Redis soon."""
        self._drop(keys)
        self._unsettled.update(keys)
        self._to_settle.update(keys)
        self._wake_settler.set()

    async def _settle(self) -> None:
        while not self._closed:
            await self._wake_settler.wait()
            self._wake_settler.clear()
            batch, self._to_settle = self._to_settle, Counter()
            try:
                await self._l2.invalidate(batch)  # never raises: an unreachable Redis serves nothing anyway
            finally:
                self._unsettle(batch)

    def _unsettle(self, done: Counter[str]) -> None:
        self._unsettled.subtract(done)
        for key in done:
            if self._unsettled[key] <= 0:
                del self._unsettled[key]

    async def _gap(self) -> None:
        """Announcements were missed: nothing cached before now, here or in Redis, may be served again."""
        self._forget_everything()
        await self._l2.forget_everything()

    def _remember(self, key: str, value: bytes, l2_stamp: bytes, generation: int, ttl: float | None = None) -> None:
        if len(self._entries) >= self._max_entries and key not in self._entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (value, l2_stamp, generation, time.monotonic() + (ttl or self._l1_ttl))

    def _drop(self, keys: Iterable[str]) -> None:
        if len(self._generations) >= self._max_entries:
            self._forget_everything()
        for key in keys:
            self._generations[key] = self._generations.get(key, self._floor) + 1
            self._entries.pop(key, None)

    def _forget_everything(self) -> None:
        """Empty L1 and move every key past all stamps handed out, so no in-flight read can refill it."""
        self._floor = max(self._generations.values(), default=self._floor) + 1
        self._generations.clear()
        self._entries.clear()
