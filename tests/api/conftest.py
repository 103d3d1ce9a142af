"""The real app (Litestar, container, Postgres, Redis) driven over HTTP; tables and cache emptied per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from entrypoints.config import Config
from entrypoints.http.app import create_app


def app_for(postgres_url: str, redis_url: str | None):
    return create_app(config=Config(database_url=postgres_url, redis_url=redis_url))


@pytest.fixture(scope="session")
async def session_client(postgres_url: str, redis_server) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app_for(postgres_url, redis_server.url), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
async def client(session_client: AsyncTestClient, clean_postgres, clean_redis) -> AsyncTestClient:
    return session_client


@pytest.fixture(params=["/tenants", "/api/tenants"])
def prefix(request: pytest.FixtureRequest) -> str:
    """Every tenant route is served under both prefixes with identical behaviour."""
    return request.param
