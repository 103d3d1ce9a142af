"""The Cache port: the in-memory, Redis and tiered (L1 + Redis) adapters must behave identically; and the
caches a service runs (in-memory alone, or tiered) follow committed invalidations alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tenant_adapters.memory import InMemoryCache
from tenant_adapters.redis import RedisCache, TieredCache
from tests.support.followers import FakeFollower


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


@pytest.fixture
async def follower() -> FakeFollower:
    return FakeFollower()


@pytest.fixture
async def tiered_following(clean_redis: str, follower: FakeFollower) -> AsyncIterator[TieredCache]:
    cache = TieredCache(RedisCache.from_url(clean_redis), follower)
    await cache.start()
    yield cache
    await cache.close()


@pytest.fixture(params=["memory", "tiered"])
def following_cache(request: pytest.FixtureRequest, follower: FakeFollower):
    """A service's cache, without Redis or with it, following ``follower``."""
    if request.param == "memory":
        return InMemoryCache(follower=follower)
    return request.getfixturevalue("tiered_following")


async def _cached(cache, key: str, value: bytes) -> None:
    _, stamp = await cache.read(key)
    await cache.write(key, value, stamp, 60)
    assert (await cache.read(key))[0] == value


async def test_a_key_another_process_announced_is_dropped(following_cache, follower):
    """An announcement from the feed drops the key here, and only that key."""
    await _cached(following_cache, "tenant:id:a", b"A")
    await _cached(following_cache, "tenant:id:b", b"B")
    follower.announce(["tenant:id:a"])
    await asyncio.sleep(0.05)  # let the tiered cache settle the key in Redis
    assert (await following_cache.read("tenant:id:a"))[0] is None
    assert (await following_cache.read("tenant:id:b"))[0] == b"B"


async def test_a_load_begun_before_an_announcement_is_never_stored(following_cache, follower):
    """A reader that loaded before the change committed cannot re-plant the old value after its announcement."""
    _, stamp = await following_cache.read("tenant:id:a")
    follower.announce(["tenant:id:a"])
    await following_cache.write("tenant:id:a", b"old", stamp, 60)
    assert (await following_cache.read("tenant:id:a"))[0] is None


async def test_nothing_is_served_or_stored_while_the_follower_is_not_current(following_cache, follower):
    """A late follower means announcements may be waiting: reads miss, and what they load is not kept."""
    await _cached(following_cache, "tenant:id:a", b"A")
    follower.is_current = False
    value, stamp = await following_cache.read("tenant:id:a")
    assert value is None and stamp == b""
    await following_cache.write("tenant:id:b", b"B", stamp, 60)
    follower.is_current = True
    assert (await following_cache.read("tenant:id:a"))[0] == b"A"  # it was kept, only not served
    assert (await following_cache.read("tenant:id:b"))[0] is None


async def test_after_a_gap_nothing_cached_before_is_served(following_cache, follower):
    """A gap in the feed (a lost connection) empties the cache, Redis included, and stale stamps stay void."""
    await _cached(following_cache, "tenant:id:a", b"A")
    _, stamp = await following_cache.read("tenant:id:b")
    await follower.gap()
    assert (await following_cache.read("tenant:id:a"))[0] is None
    await following_cache.write("tenant:id:b", b"old", stamp, 60)
    assert (await following_cache.read("tenant:id:b"))[0] is None


async def test_an_announcement_is_also_invalidated_in_redis(clean_redis):
    """The crash case: the writer never bumped Redis; every process that hears of the change does it for him."""
    writer_side, survivor_side = FakeFollower(), FakeFollower()
    survivor = TieredCache(RedisCache.from_url(clean_redis), survivor_side)
    await survivor.start()
    # Another process cached the old value in Redis, then the writer committed and died before bumping it.
    other = RedisCache.from_url(clean_redis)
    _, stamp = await other.read("tenant:id:a")
    await other.write("tenant:id:a", b"old", stamp, 60)
    survivor_side.announce(["tenant:id:a"])
    assert (await survivor.read("tenant:id:a"))[0] is None  # not read from Redis before its own bump landed
    for _ in range(100):
        if (await other.read("tenant:id:a"))[0] is None:
            break
        await asyncio.sleep(0.01)
    assert (await other.read("tenant:id:a"))[0] is None
    del writer_side
    await survivor.close()
    await other.close()


async def test_a_new_tiered_cache_starts_a_new_redis_epoch(clean_redis):
    """A process that starts may have missed announcements nobody else heard (a lone writer that died):
    nothing Redis held before it started is served."""
    other = RedisCache.from_url(clean_redis)
    _, stamp = await other.read("tenant:id:a")
    await other.write("tenant:id:a", b"old", stamp, 60)
    cache = TieredCache(RedisCache.from_url(clean_redis), FakeFollower())
    await cache.start()
    assert (await cache.read("tenant:id:a"))[0] is None
    await cache.close()
    await other.close()
