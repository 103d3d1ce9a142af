"""SIGTERM drains in-flight requests and exits 0; kill -9 loses no acknowledged write."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import httpx

from tests.support.fake_graph import APP_ID, APP_SECRET, CODE, FakeGraph
from tests.support.service_process import ADMIN


@contextlib.asynccontextmanager
async def behind_a_slow_graph(service_factory, postgres_url: str, seconds: float, **env: str):
    """A serve process whose Graph API takes ``seconds`` to check a token, so a signup stays in flight that long."""
    graph = FakeGraph().start()
    graph.behaviour.delays["debug_token"] = seconds
    try:
        settings = {"META_APP_ID": APP_ID, "META_APP_SECRET": APP_SECRET, "META_GRAPH_URL": graph.url, **env}
        yield graph, await service_factory({"DATABASE_URL": postgres_url, **settings}).start()
    finally:
        graph.stop()


async def signup_states(client: httpx.AsyncClient, count: int) -> list[str]:
    """A signup state for each of ``count`` new tenants."""
    states = []
    for n in range(count):
        body = {"name": f"T{n}", "email": f"t{n}@x.com"}
        tenant = (await client.post("/tenants", json=body, headers=ADMIN)).json()["tenant"]
        states.append(
            (await client.post(f"/tenants/{tenant['id']}/whatsapp/signup-state", headers=ADMIN)).json()["state"]
        )
    return states


async def test_sigterm_finishes_requests_in_flight_and_exits_cleanly(service_factory, postgres_url, clean_postgres):
    async with (
        behind_a_slow_graph(service_factory, postgres_url, 1.0) as (graph, service),
        httpx.AsyncClient(base_url=service.url, timeout=10) as client,
    ):
        states = await signup_states(client, 5)
        graph.behaviour.phones = {"1000100": [{"id": f"155{n}", "display_phone_number": "x"} for n in range(5)]}
        in_flight = [
            asyncio.create_task(
                client.post("/api/whatsapp/signup", json={"code": CODE, "state": state, "phoneNumberId": f"155{n}"})
            )
            for n, state in enumerate(states)
        ]
        await asyncio.sleep(0.4)
        service.signal(signal.SIGTERM)
        responses = await asyncio.gather(*in_flight, return_exceptions=True)
    assert [getattr(r, "status_code", r) for r in responses] == [200] * 5
    assert await asyncio.to_thread(service.wait) == 0


async def test_kill_9_loses_no_acknowledged_write(service_factory, postgres_url, clean_postgres):
    service = await service_factory({"DATABASE_URL": postgres_url}).start()
    acknowledged_tenants: list[str] = []
    acknowledged_credentials: list[str] = []

    async def writer(client: httpx.AsyncClient, n: int) -> None:
        for i in range(10_000):
            try:
                created = await client.post("/tenants", json={"name": "K", "email": f"k{n}-{i}@x.com"}, headers=ADMIN)
                if created.status_code != 201:
                    continue
                tenant_id = created.json()["tenant"]["id"]
                acknowledged_tenants.append(tenant_id)
                stored = await client.put(
                    f"/tenants/{tenant_id}/genesys/credentials",
                    headers=ADMIN,
                    json={
                        "clientId": "c",
                        "clientSecret": f"s-{tenant_id}",
                        "region": "mypurecloud.com",
                        "integrationId": f"i-{tenant_id}",
                    },
                )
                if stored.status_code == 200:
                    acknowledged_credentials.append(tenant_id)
            except httpx.HTTPError:
                return  # the server is gone

    async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
        writers = [asyncio.create_task(writer(client, n)) for n in range(8)]
        await asyncio.sleep(1.5)
        service.signal(signal.SIGKILL)
        await asyncio.gather(*writers)
    service.wait()
    assert len(acknowledged_tenants) > 10

    restarted = await service_factory({"DATABASE_URL": postgres_url}).start()
    async with httpx.AsyncClient(base_url=restarted.url, timeout=10) as client:
        for tenant_id in acknowledged_tenants:
            assert (await client.get(f"/tenants/{tenant_id}", headers=ADMIN)).status_code == 200
        for tenant_id in acknowledged_credentials:
            view = await client.get(f"/tenants/{tenant_id}/credentials/genesys?reveal=true", headers=ADMIN)
            assert view.json()["credentials"]["clientSecret"] == f"s-{tenant_id}"
    # Nothing half-written: every tenant in the database has its key and its creation event.
    orphans = await clean_postgres.fetchval(
        "SELECT count(*) FROM tenants t WHERE NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.tenant_id = t.id) "
        "OR NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.tenant_id = t.id AND a.action = 'tenant.created')"
    )
    assert orphans == 0
    half_credentials = await clean_postgres.fetchval(
        "SELECT count(*) FROM tenants t WHERE (genesys_integration_id IS NULL) <> "
        "(NOT EXISTS (SELECT 1 FROM credentials c WHERE c.tenant_id = t.id))"
    )
    assert half_credentials == 0


async def test_a_worker_still_busy_after_the_shutdown_timeout_is_killed(service_factory, postgres_url, clean_postgres):
    """SHUTDOWN_TIMEOUT_SECONDS bounds a graceful stop: a request still in flight after it is cut, and serve ends."""
    slow = {"META_GRAPH_TIMEOUT_SECONDS": "120", "SHUTDOWN_TIMEOUT_SECONDS": "1"}
    async with (
        behind_a_slow_graph(service_factory, postgres_url, 60.0, **slow) as (_, service),  # a minute per signup
        httpx.AsyncClient(base_url=service.url, timeout=90) as client,
    ):
        [state] = await signup_states(client, 1)
        in_flight = asyncio.create_task(client.post("/api/whatsapp/signup", json={"code": CODE, "state": state}))
        await asyncio.sleep(0.5)
        service.signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        await asyncio.to_thread(service.wait, 20)
        took = time.monotonic() - stopped_at
        cut = await asyncio.gather(in_flight, return_exceptions=True)
    assert took < 20 and isinstance(cut[0], httpx.HTTPError), (took, cut)
    assert "refused to gracefully stop" in service.log()
