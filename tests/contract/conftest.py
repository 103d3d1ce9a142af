"""Each port's contract runs against the in-memory adapter and the real one, with the same test bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tenant_adapters.memory import InMemoryCache, InMemoryInvalidationFollower, InMemoryStorage
from tenant_adapters.postgres import PostgresStorage, apply_migrations, create_pool
from tenant_adapters.redis import RedisCache, TieredCache
from tests.support.servers import separate_database


@pytest.fixture(scope="session")
async def contract_database_url(postgres_url: str) -> str:
    """The contract tests' own database on the session's server. The API suite's apps run event workers for
    the whole session on the shared one; there they would claim the deliveries these tests queue."""
    url = await separate_database(postgres_url, "contract_tests")
    apply_migrations(url)
    return url


@pytest.fixture(scope="session")
async def pg_pool(contract_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(contract_database_url, max_size=30)
    yield pool
    await pool.close()


@pytest.fixture
def postgres_storage(clean_postgres: asyncpg.Pool, contract_database_url: str) -> PostgresStorage:
    return PostgresStorage(clean_postgres, dsn=contract_database_url)


@pytest.fixture
async def redis_cache(clean_redis: str) -> AsyncIterator[RedisCache]:
    cache = RedisCache.from_url(clean_redis)
    yield cache
    await cache.close()


# Sync fixtures: they pick an implementation; the async ones above do the I/O.
@pytest.fixture(params=["memory", "postgres"])
def storage(request: pytest.FixtureRequest):
    return InMemoryStorage() if request.param == "memory" else request.getfixturevalue("postgres_storage")


@pytest.fixture
async def tiered_cache(clean_redis: str) -> AsyncIterator[TieredCache]:
    """The production cache with Redis: an in-process L1 in front of Redis."""
    cache = TieredCache(RedisCache.from_url(clean_redis), InMemoryInvalidationFollower())
    await cache.start()
    yield cache
    await cache.close()


@pytest.fixture(params=["memory", "redis", "tiered"])
def cache(request: pytest.FixtureRequest):
    if request.param == "memory":
        return InMemoryCache()
    return request.getfixturevalue("redis_cache" if request.param == "redis" else "tiered_cache")
