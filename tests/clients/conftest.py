"""The platform's callers against the real app on real Postgres and Redis, with the Meta app configured."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from tests.api.conftest import app_for, no_secret_in_logs, secrets_in_play  # noqa: F401  (fixtures)

PLATFORM_META_APP_SECRET = "platform-meta-app-secret-0001"


@pytest.fixture(scope="session")
async def platform_app_client(postgres_url: str, redis_server) -> AsyncIterator[AsyncTestClient]:
    app = app_for(postgres_url, redis_server.url, meta_app_id="1234567890", meta_app_secret=PLATFORM_META_APP_SECRET)
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        yield client  # no default credentials: each call sends what its caller sends


@pytest.fixture
async def http(platform_app_client: AsyncTestClient, clean_postgres, clean_redis) -> AsyncTestClient:
    return platform_app_client
