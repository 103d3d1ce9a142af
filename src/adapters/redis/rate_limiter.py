"""Fixed-window rate limiter on Redis, shared by every worker and instance; per process while Redis is down."""

from __future__ import annotations

import time

import redis.asyncio as redis
from loguru import logger
from redis.exceptions import RedisError

from tenant_adapters.memory.rate_limiter import InMemoryRateLimiter


class RedisRateLimiter:
    """The :class:`~tenant_core.ports.RateLimiter` port on Redis, shared by every worker and instance; a
    per-process share of the limit while Redis is down."""

    def __init__(self, client: redis.Redis, prefix: str = "tenant-service:rl:", share_of: int = 1) -> None:
        """``share_of``: how many processes share the limit (workers × instances), so that while Redis is down
        each admits only its share of it instead of the whole limit."""
        self._client = client
        self._prefix = prefix
        self._fallback = InMemoryRateLimiter(share_of=share_of)
        self._degraded = False

    async def hit(self, key: str, limit: int, window_seconds: int) -> tuple[int, int]:
        now = time.time()
        window = int(now // window_seconds)
        counter = f"{self._prefix}{key}:{window}"
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(counter)
                pipe.expire(counter, window_seconds * 2)  # the window index is in the name; TTL only cleans up
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            if not self._degraded:
                logger.warning("Redis unreachable for rate limiting ({}); counting per process", type(exc).__name__)
                self._degraded = True
            return await self._fallback.hit(key, limit, window_seconds)
        if self._degraded:
            logger.info("Redis is reachable again; rate limits are shared again")
            self._degraded = False
        return int(count), int((window + 1) * window_seconds - now) + 1
