"""The :class:`~tenant_core.ports.Cache` port on Redis (redis.asyncio).

Layout, all under one prefix: ``gen:<key>`` is the key's generation (bumped by ``invalidate``), ``val:<key>``
holds ``<stamp>|<value>``, and ``epoch`` is a global generation. A read is one MGET of the three; a value is
served only if it was written under the current epoch and generation.

If Redis fails, this cache answers misses and drops writes (the service falls back to the database), logs
the outage once, retries after a short pause, and on recovery bumps ``epoch``: invalidations sent while
Redis was unreachable were lost, so nothing cached before the outage may be served after it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis.asyncio as redis
from loguru import logger
from redis.exceptions import RedisError


def connect(url: str) -> redis.Redis:
    """A client with short timeouts: a slow Redis must cost a request milliseconds, not seconds."""
    return redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)


_GENERATION_TTL_MS = 24 * 3600 * 1000  # outlives any value, so a generation never resets under a live value


class RedisCache:
    """The :class:`~tenant_core.ports.Cache` port on Redis: generation-stamped entries, and misses (never
    errors) while Redis is unreachable."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "tenant-service:",
        retry_after_seconds: float = 1.0,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._epoch_key = f"{prefix}epoch"
        self._retry_after = retry_after_seconds
        self._down_until: float | None = None  # set while Redis is considered unreachable

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> RedisCache:
        return cls(connect(url), **kwargs)  # type: ignore[arg-type]

    async def close(self) -> None:
        await self._client.aclose()

    @property
    def client(self) -> redis.Redis:
        return self._client

    async def read(self, key: str) -> tuple[bytes | None, bytes]:
        if not await self._available():
            return None, b""
        try:
            epoch, generation, stored = await self._client.mget(
                self._epoch_key, f"{self._prefix}gen:{key}", f"{self._prefix}val:{key}"
            )
        except (RedisError, OSError) as exc:
            self.went_down(exc)
            return None, b""
        stamp = b"%s.%s|" % (epoch or b"0", generation or b"0")
        if stored is not None and stored.startswith(stamp):
            return stored[len(stamp) :], stamp
        return None, stamp

    async def write(self, key: str, value: bytes, stamp: bytes, ttl_seconds: float) -> None:
        if not stamp or not await self._available():
            return  # the read that produced this stamp did not reach Redis
        try:
            await self._client.set(f"{self._prefix}val:{key}", stamp + value, px=max(1, int(ttl_seconds * 1000)))
        except (RedisError, OSError) as exc:
            self.went_down(exc)

    async def invalidate(self, keys: Iterable[str]) -> None:
        if not await self._available():
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.incr(f"{self._prefix}gen:{key}")
                    pipe.pexpire(f"{self._prefix}gen:{key}", _GENERATION_TTL_MS)
                    pipe.delete(f"{self._prefix}val:{key}")
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self.went_down(exc)

    async def forget_everything(self) -> None:
        """Move to a new epoch: nothing cached before is served again (if Redis is unreachable now, that
        happens when it returns, as after any outage)."""
        if not await self._available():
            return  # its return bumps the epoch
        try:
            await self._client.incr(self._epoch_key)
        except (RedisError, OSError) as exc:
            self.went_down(exc)

    async def status(self) -> str:
        try:
            await self._client.ping()
        except (RedisError, OSError):
            return "disconnected"
        return "connected"

    async def _available(self) -> bool:
        if self._down_until is None:
            return True
        if time.monotonic() < self._down_until:
            return False
        try:
            await self._client.incr(self._epoch_key)  # everything cached before the outage is now invalid
        except (RedisError, OSError):
            self._down_until = time.monotonic() + self._retry_after
            return False
        self._down_until = None
        logger.info("Redis is reachable again; cache re-enabled")
        return True

    def went_down(self, exc: BaseException) -> None:
        """Note a failed Redis call: answer misses for a short pause, then try again."""
        if self._down_until is None:
            logger.warning("Redis unreachable ({}); serving from the database until it returns", type(exc).__name__)
        self._down_until = time.monotonic() + self._retry_after
