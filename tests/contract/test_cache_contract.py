"""The Cache port: the in-memory, Redis and tiered (L1 + Redis) adapters must behave identically."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from tenant_adapters.redis import RedisCache, TieredCache


async def test_miss_then_hit(cache):
    """A value written under the stamp of a miss is served by the next read."""
    value, stamp = await cache.read("k")
    assert value is None
    await cache.write("k", b"v1", stamp, 60)
    value, _ = await cache.read("k")
    assert value == b"v1"


async def test_invalidate_removes_the_value(cache):
    _, stamp = await cache.read("k")
    await cache.write("k", b"v1", stamp, 60)
    await cache.invalidate(["k", "other"])
    assert (await cache.read("k"))[0] is None


async def test_write_with_a_stamp_older_than_an_invalidation_is_never_served(cache):
    """A reader that loaded data before a write committed cannot re-plant it after the invalidation."""
    _, stale_stamp = await cache.read("k")
    await cache.invalidate(["k"])  # the write committed and invalidated meanwhile
    await cache.write("k", b"stale", stale_stamp, 60)
    assert (await cache.read("k"))[0] is None
    _, fresh_stamp = await cache.read("k")
    await cache.write("k", b"fresh", fresh_stamp, 60)
    assert (await cache.read("k"))[0] == b"fresh"


async def test_values_expire(cache):
    _, stamp = await cache.read("k")
    await cache.write("k", b"v", stamp, 0.05)
    await asyncio.sleep(0.15)
    assert (await cache.read("k"))[0] is None


async def test_keys_are_independent(cache):
    _, a = await cache.read("a")
    _, b = await cache.read("b")
    await cache.write("a", b"A", a, 60)
    await cache.write("b", b"B", b, 60)
    await cache.invalidate(["a"])
    assert (await cache.read("a"))[0] is None
    assert (await cache.read("b"))[0] == b"B"


async def test_binary_values_round_trip(cache):
    payload = bytes(range(256)) + b"|0.0|"
    _, stamp = await cache.read("bin")
    await cache.write("bin", payload, stamp, 60)
    assert (await cache.read("bin"))[0] == payload


async def test_an_invalidation_reaches_every_tiered_cache_on_the_same_redis(clean_redis):
    """Two workers' caches: one invalidates, the other stops serving its in-process copy."""
    caches = [TieredCache(RedisCache.from_url(clean_redis), aioredis.Redis.from_url(clean_redis)) for _ in range(2)]
    for cache in caches:
        await cache.start()
    try:
        _, stamp = await caches[1].read("tenant:id:t")
        await caches[1].write("tenant:id:t", b"v1", stamp, 60)
        assert (await caches[1].read("tenant:id:t"))[0] == b"v1"
        await caches[0].invalidate(["tenant:id:t"])
        for _ in range(100):  # pub/sub delivery is asynchronous: allow it up to a second
            if (await caches[1].read("tenant:id:t"))[0] is None:
                break
            await asyncio.sleep(0.01)
        assert (await caches[1].read("tenant:id:t"))[0] is None
    finally:
        for cache in caches:
            await cache.close()
