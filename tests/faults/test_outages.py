"""Postgres stopped and Redis killed under load: fail fast or fall back, never a 500, recover unaided."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tenant_adapters.postgres import apply_migrations
from tests.support.servers import PostgresServer, RedisServer
from tests.support.service_process import ADMIN


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A Postgres of this test's own, since the test stops it."""
    server = PostgresServer()
    apply_migrations(server.url)
    yield server
    server.close()


class Load:
    """Clients hammering a DB-bound route and a cached route; records (status, seconds) of every answer."""

    def __init__(self, url: str, paths: list[str]) -> None:
        self._url, self._paths = url, paths
        self.results: list[tuple[str, int, float]] = []
        self._stop = asyncio.Event()

    async def _client(self, path: str) -> None:
        async with httpx.AsyncClient(base_url=self._url, timeout=30, headers=ADMIN) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status = (await client.get(path)).status_code
                except httpx.HTTPError:
                    status = -1
                self.results.append((path, status, time.monotonic() - started))
                await asyncio.sleep(0.01)

    def __enter__(self) -> Load:
        self._tasks = [asyncio.create_task(self._client(p)) for p in self._paths for _ in range(3)]
        return self

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


async def test_postgres_outage_fails_fast_and_recovers(service_factory, own_postgres):
    """Every route answers 503 fast while Postgres is down, cached lookups included, then 200 again unaided."""
    service = await service_factory({"DATABASE_URL": own_postgres.url}).start()
    async with httpx.AsyncClient(base_url=service.url, timeout=30, headers=ADMIN) as client:
        tenant = (await client.post("/tenants", json={"name": "P", "email": "p@x.com", "phoneNumberId": "4001"})).json()
        assert (await client.get("/tenants/by-phone/4001")).status_code == 200  # cached before the outage
        with Load(service.url, ["/tenants?limit=5", "/tenants/by-phone/4001"]) as load:
            await asyncio.sleep(0.3)
            await asyncio.to_thread(own_postgres.stop)
            await asyncio.sleep(1.0)
            started = time.monotonic()
            down = await client.get("/tenants")
            assert down.status_code == 503 and down.json()["code"] == "SERVICE_UNAVAILABLE"
            assert time.monotonic() - started < 5
            assert "Traceback" not in down.text
            health = await client.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "unhealthy"
            assert (await client.get("/health/ready")).status_code == 503
            assert (await client.get("/health/live")).status_code == 200  # nothing a restart would fix

            await asyncio.to_thread(own_postgres.start)
            for _ in range(100):
                if (await client.get("/tenants")).status_code == 200:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.3)
            await load.stop()
        assert (await client.get(f"/tenants/{tenant['tenant']['id']}")).status_code == 200  # the committed write
        assert (await client.post("/tenants", json={"name": "Q", "email": "q@x.com"})).status_code == 201
        assert (await client.get("/health")).json()["status"] == "healthy"
    statuses = {status for _, status, _ in load.results}
    assert statuses <= {200, 503}, (statuses, service.errors_logged())
    assert 503 in statuses and 200 in statuses
    assert max(seconds for _, _, seconds in load.results) < 6  # bounded, never a hang
    # Lookups fail fast too: an instance that lost its invalidation feed may have missed changes (committed
    # by other instances, if only its own link is down), so it empties its cache and asks the database.
    cached = [status for path, status, _ in load.results if "by-phone" in path]
    assert set(cached) == {200, 503} and cached[-3:] == [200] * 3


async def test_redis_killed_and_restarted_under_load(service_factory, postgres_url, clean_postgres):
    redis = RedisServer().start()
    try:
        service = await service_factory({"DATABASE_URL": postgres_url, "REDIS_URL": redis.url}).start()
        async with httpx.AsyncClient(base_url=service.url, timeout=30, headers=ADMIN) as client:
            created = await client.post("/tenants", json={"name": "R", "email": "r@x.com", "phoneNumberId": "4101"})
            tenant_id = created.json()["tenant"]["id"]
            with Load(service.url, ["/tenants/by-phone/4101", f"/tenants/{tenant_id}"]) as load:
                await asyncio.sleep(0.3)
                redis.stop()
                await asyncio.sleep(0.5)
                changed = await client.patch(f"/tenants/{tenant_id}", json={"name": "Renamed during outage"})
                assert changed.status_code == 200
                assert (await client.get(f"/tenants/{tenant_id}")).json()["name"] == "Renamed during outage"
                assert (await client.get("/health")).json()["redis"] == "disconnected"
                assert (await client.get("/health/ready")).status_code == 200  # answers from Postgres: still ready
                redis.start()
                await asyncio.sleep(2.0)
                await load.stop()
            assert (await client.get("/health")).json()["redis"] == "connected"
            assert (await client.get(f"/tenants/{tenant_id}")).json()["name"] == "Renamed during outage"
        assert {status for _, status, _ in load.results} == {200}
    finally:
        redis.close()
