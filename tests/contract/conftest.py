"""Each port's contract runs against the in-memory adapter and the real one, with the same test bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from adapters.memory import InMemoryCache, InMemoryStorage
from adapters.postgres import PostgresStorage
from adapters.redis import RedisCache


@pytest.fixture
def postgres_storage(clean_postgres: asyncpg.Pool) -> PostgresStorage:
    return PostgresStorage(clean_postgres)


@pytest.fixture
async def redis_cache(clean_redis: str) -> AsyncIterator[RedisCache]:
    cache = RedisCache.from_url(clean_redis)
    yield cache
    await cache.close()


# Sync fixtures: they pick an implementation; the async ones above do the I/O.
@pytest.fixture(params=["memory", "postgres"])
def storage(request: pytest.FixtureRequest):
    return InMemoryStorage() if request.param == "memory" else request.getfixturevalue("postgres_storage")


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest):
    return InMemoryCache() if request.param == "memory" else request.getfixturevalue("redis_cache")
