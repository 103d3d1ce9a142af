"""Two instances on one database, both with scheduled connection checks on: the database lets one sweep at a
time, so the far side never sees the fleet checking more connections at once than one instance's concurrency."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler

from litestar.testing import AsyncTestClient

from tenant_adapters.postgres import apply_migrations, create_pool
from tests.api.conftest import ADMIN, app_for
from tests.support.builders import create_body
from tests.support.fake_genesys import CLIENT_ID, CLIENT_SECRET, REGION, FakeGenesys
from tests.support.servers import separate_database

CONNECTIONS, CONCURRENCY, PERIOD = 6, 2, 1.0


class CountingGenesys(FakeGenesys):
    """The fake Genesys, counting the token requests it is answering at once (each takes 0.2 s)."""

    def __init__(self) -> None:
        super().__init__()
        self.behaviour.delays["token"] = 0.2
        self.in_flight = self.most_at_once = self.tokens = 0
        self._count = threading.Lock()

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        token = request.path == "/oauth/token"
        if token:
            with self._count:
                self.in_flight += 1
                self.tokens += 1
                self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            super().handle(request, method)
        finally:
            if token:
                with self._count:
                    self.in_flight -= 1


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
            credentials = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "region": REGION}
            for _ in range(CONNECTIONS):
                tenant_id = (await a.post("/tenants", json=create_body())).json()["tenant"]["id"]
                body = {"type": "genesys", "credentials": credentials}  # an integration id is one tenant's
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
