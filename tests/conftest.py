"""Shared fixtures: one real Postgres and one real Redis per test session, cleaned between tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from tenant_adapters.postgres import apply_migrations, create_pool
from tests.support.servers import PostgresServer, RedisServer


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server = PostgresServer()
    apply_migrations(server.url)
    yield server.url
    server.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture(scope="session")
async def pg_pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(postgres_url, max_size=30)
    yield pool
    await pool.close()


#: Rows of every earlier test go (dependent rows by their ON DELETE CASCADE). DELETE, not TRUNCATE: on tables
#: this small it takes under a millisecond, where TRUNCATE, which makes new files for every table and
#: index, took about 50 ms per test.
_CLEAR = (
    "DELETE FROM tenants; DELETE FROM webhooks; DELETE FROM audit_log; "
    "DELETE FROM events; DELETE FROM event_positions; DELETE FROM events_unnumbered; DELETE FROM legacy_imports; "
    "UPDATE event_consumers SET position = 0; UPDATE events_horizon SET pruned_through = 0"
)


@pytest.fixture
async def clean_postgres(pg_pool: asyncpg.Pool) -> asyncpg.Pool:
    """A database with the schema and no rows."""
    # The apps' event workers use these tables meanwhile, taking locks in their own order, so clearing them
    # can deadlock: it then retries. Deadlocks are looked for after 20 ms here, not the default 1 s.
    for attempt in range(5):
        try:
            async with pg_pool.acquire() as connection, connection.transaction():
                with contextlib.suppress(asyncpg.InsufficientPrivilegeError):  # TEST_DATABASE_URL's own user
                    async with connection.transaction():
                        await connection.execute("SET LOCAL deadlock_timeout = '20ms'")
                await connection.execute(_CLEAR)
            break
        except asyncpg.DeadlockDetectedError:
            if attempt == 4:
                raise
    return pg_pool


@pytest.fixture
async def clean_redis(redis_server: RedisServer) -> str:
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()
    return redis_server.url
