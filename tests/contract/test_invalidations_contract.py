"""The CacheInvalidations and InvalidationFollower ports: what a unit of work announces reaches every process's
follower when, and only if, it commits; in-memory and Postgres alike."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest


async def _no_gap() -> None:
    return None


async def _announce(storage, keys: list[str]) -> None:
    async with storage.unit_of_work() as uow:
        uow.invalidations.add(keys)


async def _caught_up(*followers) -> None:
    async with asyncio.timeout(10):
        for follower in followers:
            await follower.caught_up()


async def test_a_committed_announcement_reaches_every_follower_once_caught_up(storage):
    """Two processes follow; one commits an announcement; both have its keys once caught up."""
    seen: list[list[str]] = [[], []]
    async with storage.follow_invalidations() as a, storage.follow_invalidations() as b:
        a.subscribe(seen[0].extend, _no_gap)
        b.subscribe(seen[1].extend, _no_gap)
        await _announce(storage, ["tenant:phone:1555", "tenant:id:t_1"])
        await _caught_up(a, b)
        assert sorted(seen[0]) == sorted(seen[1]) == ["tenant:id:t_1", "tenant:phone:1555"]
        assert a.current() and b.current()


async def test_a_rolled_back_unit_of_work_announces_nothing(storage):
    """Only commits announce: the keys of a unit of work that failed never reach anyone."""
    seen: list[str] = []
    async with storage.follow_invalidations() as follower:
        follower.subscribe(seen.extend, _no_gap)
        with pytest.raises(RuntimeError):
            async with storage.unit_of_work() as uow:
                uow.invalidations.add(["tenant:id:rolled-back"])
                raise RuntimeError("the change failed")
        await _announce(storage, ["tenant:id:committed"])
        await _caught_up(follower)
    assert seen == ["tenant:id:committed"]


async def test_an_announcement_beyond_one_notification_arrives_whole(storage):
    """A thousand keys (more than one Postgres notification carries) all arrive."""
    keys = [f"tenant:integration:{'x' * 40}-{i}" for i in range(1000)]
    seen: list[str] = []
    async with storage.follow_invalidations() as follower:
        follower.subscribe(seen.extend, _no_gap)
        await _announce(storage, keys)
        await _caught_up(follower)
    assert sorted(seen) == sorted(keys)


async def test_keys_of_any_text_arrive_as_written(storage):
    """Keys carry client text (lookup values): quotes, newlines and non-ASCII come through unchanged."""
    keys = ['tenant:integration:it\'s "odd"\n\u00e9\u4e2d', "tenant:phone:\\x00"]
    seen: list[str] = []
    async with storage.follow_invalidations() as follower:
        follower.subscribe(seen.extend, _no_gap)
        await _announce(storage, keys)
        await _caught_up(follower)
    assert sorted(seen) == sorted(keys)


async def test_commits_from_many_writers_all_arrive(storage):
    """Concurrent writers' announcements are none of them lost."""
    seen: list[str] = []
    async with AsyncExitStack() as stack:
        follower = await stack.enter_async_context(storage.follow_invalidations())
        follower.subscribe(seen.extend, _no_gap)
        await asyncio.gather(*(_announce(storage, [f"tenant:id:t_{i}"]) for i in range(20)))
        await _caught_up(follower)
    assert sorted(seen) == sorted(f"tenant:id:t_{i}" for i in range(20))
