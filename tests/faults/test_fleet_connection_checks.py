"""Two instances on one database, both with scheduled connection checks on: the database lets one sweep at a
time, so the far side never sees the fleet checking more connections at once than one instance's concurrency."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from litestar.testing import AsyncTestClient

from tenant_adapters.postgres import apply_migrations, create_pool
from tests.api.conftest import ADMIN, app_for
from tests.support.builders import create_body
from tests.support.fake_genesys import CLIENT_SECRET, REGION, FakeGenesys
from tests.support.servers import separate_database

CONNECTIONS, CONCURRENCY, PERIOD = 6, 2, 1.0


class CountingGenesys(FakeGenesys):
    """The fake Genesys with one OAuth client (and org) per tenant, counting the token requests it holds at once:
    from their arrival to just before their answer (each takes 0.2 s), so a request counts only while its
    sender still waits for it."""

    def __init__(self) -> None:
        super().__init__()
        self.behaviour.delays["token"] = 0.2
        for n in range(CONNECTIONS):
            self.behaviour.clients[(REGION, f"client-{n}")] = (CLIENT_SECRET, f"org-{n}")
            self.behaviour.orgs[f"org-{n}"] = f"Org {n}"
        self.in_flight = self.most_at_once = self.tokens = 0
        self._count = threading.Lock()
        self._answering = threading.local()

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        self._answering.token = request.path == "/oauth/token"
        if self._answering.token:
            with self._count:
                self.in_flight += 1
                self.tokens += 1
                self.most_at_once = max(self.most_at_once, self.in_flight)
        super().handle(request, method)

    def answer(self, request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        if self._answering.token:
            with self._count:
                self.in_flight -= 1
        super().answer(request, status, body)


async def test_two_instances_check_the_fleet_s_connections_one_sweep_at_a_time(postgres_url, redis_server):
    url = await separate_database(postgres_url, "fleet_connection_checks")
    apply_migrations(url)
    pool = await create_pool(url)
    await pool.execute("DELETE FROM tenants; DELETE FROM webhooks; DELETE FROM events; DELETE FROM events_unnumbered")
    genesys = CountingGenesys().start()
    settings = {
        "genesys_base_url": genesys.url,
        "connection_check_interval": PERIOD,
        "connection_check_concurrency": CONCURRENCY,
    }
    try:
        first, second = app_for(url, redis_server.url, **settings), app_for(url, redis_server.url, **settings)
        async with AsyncTestClient(first) as a, AsyncTestClient(second):
            a.headers.update(ADMIN)
            for n in range(CONNECTIONS):
                tenant_id = (await a.post("/tenants", json=create_body())).json()["tenant"]["id"]
                credentials = {"clientId": f"client-{n}", "clientSecret": CLIENT_SECRET, "region": REGION}
                body = {"type": "genesys", "credentials": credentials}
                assert (await a.post(f"/tenants/{tenant_id}/credentials", json=body)).status_code == 200
            deadline = time.monotonic() + 60
            while genesys.tokens < 3 * CONNECTIONS:  # about three rounds of checks, whichever instance ran them
                assert time.monotonic() < deadline, f"only {genesys.tokens} checks ran"
                await asyncio.sleep(0.1)
            checked = await pool.fetchval(
                "SELECT count(*) FROM credentials WHERE (status->'lastCheck'->>'checkedAt') IS NOT NULL"
            )
    finally:
        genesys.stop()
        await pool.close()
    print(f"{genesys.tokens} checks, at most {genesys.most_at_once} at once")
    assert checked == CONNECTIONS
    assert genesys.most_at_once <= CONCURRENCY  # never two sweeps at once: one instance's concurrency at most
