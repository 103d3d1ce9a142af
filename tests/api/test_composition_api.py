"""The composition root is the one place adapters are chosen: tests swap them by overriding providers."""

from __future__ import annotations

from dependency_injector import providers
from litestar.testing import AsyncTestClient

from tenant_adapters.memory import InMemoryCache, InMemoryStorage
from tenant_entrypoints.config import Config
from tenant_entrypoints.container import build_container
from tenant_entrypoints.http.app import create_app
from tests.api.conftest import ADMIN, TEST_CREDENTIALS_KEYS, TEST_JWT_SECRET
from tests.support.builders import create_body


async def test_the_whole_app_runs_on_in_memory_adapters_by_overriding_providers():
    config = Config(database_url="postgresql://nobody@127.0.0.1:1/none", jwt_secret=TEST_JWT_SECRET,
                    credentials_keys=TEST_CREDENTIALS_KEYS)  # fmt: skip
    container = build_container(config)
    storage = InMemoryStorage()
    container.storage.override(providers.Object(storage))  # no database is ever contacted
    container.cache.override(providers.Object(InMemoryCache()))
    async with AsyncTestClient(create_app(container, config), raise_server_exceptions=False) as client:
        created = await client.post("/tenants", json=create_body(phoneNumberId="1555"), headers=ADMIN)
        assert created.status_code == 201
        resolved = await client.get("/api/tenants/by-phone/1555", headers=ADMIN)
        assert resolved.json()["tenantId"] == created.json()["tenant"]["id"]
    assert await storage.tenants.get(created.json()["tenant"]["id"]) is not None


async def test_without_redis_a_process_admits_its_share_of_the_fleets_rate_limit():
    """Two workers in each of three instances, no Redis: each process admits a sixth of a tenant's limit."""
    settings = {"TENANT_SERVICE_INSTANCES": "3", "TENANT_SERVICE_WORKERS": "2"}
    config = Config.from_env({**settings, "JWT_SECRET": TEST_JWT_SECRET, "CREDENTIALS_KEYS": TEST_CREDENTIALS_KEYS})
    container = build_container(config)
    storage = InMemoryStorage()
    container.storage.override(providers.Object(storage))
    await container.init_resources()
    try:
        limiter = await container.rate_limiter()
        counts = [(await limiter.hit("tenant:t", 12, 60))[0] for _ in range(3)]
    finally:
        await container.shutdown_resources()
    assert counts == [6, 12, 18]  # the third request of this process is over 12: its share is 2
