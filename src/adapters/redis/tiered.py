"""Two-level cache: a per-process dictionary (L1) in front of Redis (L2), kept honest by Redis pub/sub.

``invalidate`` bumps the keys' generations in Redis (as :class:`RedisCache` does) and publishes the keys;
every process drops them from its L1 on the message, typically within a millisecond. L1 entries carry a
local generation too, so a slow reader cannot re-plant a value that an invalidation removed.

L1 is trusted only while this process is subscribed: if the subscription drops (Redis restarted, network
cut) L1 is emptied and bypassed until the subscription is back, since invalidations sent meanwhile were
missed. L1 entries also expire after a short TTL as a last line of defence.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

import msgspec
import redis.asyncio as redis
from loguru import logger
from redis.exceptions import RedisError

from tenant_adapters.redis.cache import RedisCache

_decode_keys = msgspec.json.Decoder(list[str]).decode
_encode_keys = msgspec.json.Encoder().encode


class TieredCache:
    """A per-process L1 in front of :class:`RedisCache`, invalidated over Redis pub/sub and bypassed while
    not subscribed."""

    def __init__(
        self,
        l2: RedisCache,
        subscriber: redis.Redis,
        *,
        channel: str = "tenant-service:invalidations",
        l1_ttl_seconds: float = 30.0,
        max_entries: int = 10_000,  # per worker: ~10-20 MB; the hot set of tenants, not all of them
        reconnect_seconds: float = 0.5,
        on_lookup: Callable[[str, bool], None] | None = None,
    ) -> None:
        """``on_lookup(level, hit)`` is told of every read, per level (for metrics)."""
        self._on_lookup = on_lookup or (lambda level, hit: None)
        self._l2 = l2
        self._subscriber = subscriber
        self._channel = channel
        self._l1_ttl = l1_ttl_seconds
        self._max_entries = max_entries
        self._reconnect = reconnect_seconds
        self._entries: dict[str, tuple[bytes, bytes, int, float]] = {}  # key → (value, l2 stamp, gen, expires)
        self._generations: dict[str, int] = {}
        self._floor = 0
        self._subscribed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening for invalidations; waits briefly so a healthy Redis is in use from the start."""
        self._listener = asyncio.create_task(self._listen(), name="cache-invalidations")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=2.0)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._subscriber.aclose()

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    # -- the Cache port ------------------------------------------------------------------------------

    async def read(self, key: str) -> tuple[bytes | None, bytes]:
        generation = self._generations.get(key, self._floor)
        if self._subscribed.is_set():
            entry = self._entries.get(key)
            if entry is not None and entry[2] == generation and entry[3] > time.monotonic():
                self._on_lookup("l1", True)
                return entry[0], b"%d|%s" % (generation, entry[1])
        self._on_lookup("l1", False)
        value, stamp = await self._l2.read(key)
        self._on_lookup("l2", value is not None)
        if value is not None and self._subscribed.is_set():
            self._remember(key, value, stamp, generation)
        return value, b"%d|%s" % (generation, stamp)

    async def write(self, key: str, value: bytes, stamp: bytes, ttl_seconds: float) -> None:
        generation, _, l2_stamp = stamp.partition(b"|")
        await self._l2.write(key, value, l2_stamp, ttl_seconds)
        if self._subscribed.is_set() and int(generation) == self._generations.get(key, self._floor):
            self._remember(key, value, l2_stamp, int(generation), min(ttl_seconds, self._l1_ttl))

    async def invalidate(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        self._drop(keys)  # this process sees its own write at once, message or not
        await self._l2.invalidate(keys)
        try:
            await self._l2.client.publish(self._channel, _encode_keys(keys))
        except (RedisError, OSError) as exc:
            self._l2.went_down(exc)

    async def status(self) -> str:
        return await self._l2.status()

    # -- internals -----------------------------------------------------------------------------------

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

    async def _listen(self) -> None:
        announced_down = False
        while True:
            pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._forget_everything()  # anything published before now was missed
                self._subscribed.set()
                if announced_down:
                    logger.info("Cache invalidation channel restored; in-process cache re-enabled")
                    announced_down = False
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._drop(_decode_keys(message["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, msgspec.DecodeError) as exc:
                if self._subscribed.is_set() or not announced_down:
                    logger.warning(
                        "Cache invalidation channel lost ({}); in-process cache bypassed", type(exc).__name__
                    )
                    announced_down = True
                self._subscribed.clear()
                self._forget_everything()
                await asyncio.sleep(self._reconnect)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
