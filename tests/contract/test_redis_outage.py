"""The Redis cache degrades to misses while Redis is down and recovers without serving stale data."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from tenant_adapters.redis import RedisCache
from tests.support.servers import RedisServer


async def test_outage_answers_misses_and_recovery_discards_older_entries():
    server = RedisServer().start()
    cache = RedisCache.from_url(server.url, retry_after_seconds=0.05)
    try:
        _, stamp = await cache.read("k")
        await cache.write("k", b"before", stamp, 60)
        assert (await cache.read("k"))[0] == b"before"

        server.stop()
        assert await cache.read("k") == (None, b"")  # no exception, a miss
        await cache.invalidate(["k"])  # lost: Redis is down
        await cache.write("k", b"during", b"", 60)
        assert await cache.status() == "disconnected"

        server.start()
        await asyncio.sleep(0.1)
        assert await cache.status() == "connected"
        value, stamp = await cache.read("k")
        assert value is None  # a fresh server is empty anyway; see the next test for a surviving one
        await cache.write("k", b"after", stamp, 60)
        assert (await cache.read("k"))[0] == b"after"
    finally:
        await cache.close()
        server.close()


async def test_entries_from_before_an_outage_are_not_served_after_it(clean_redis):
    """If invalidations were lost while this process could not reach Redis, its recovery bumps the epoch."""
    cache = RedisCache.from_url(clean_redis, retry_after_seconds=0.05)
    _, stamp = await cache.read("k")
    await cache.write("k", b"old", stamp, 60)
    cache.went_down(ConnectionError("simulated partition"))  # this process lost Redis; Redis kept its data
    await asyncio.sleep(0.1)
    assert (await cache.read("k"))[0] is None
    await cache.close()


async def test_without_redis_each_worker_admits_only_its_share_of_the_limit():
    """Four workers counting alone must not admit four times the limit between them."""
    from tenant_adapters.redis import RedisRateLimiter
    from tests.support.servers import free_port

    unreachable = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(unreachable, share_of=4)
    counts = [(await limiter.hit("tenant:t", 8, 60))[0] for _ in range(3)]
    assert counts == [4, 8, 12]  # the third request of this worker is over 8: its share is 2
    await unreachable.aclose()
