"""Connections checked on a schedule by the real app's event worker, against the fake Graph and Genesys APIs on
loopback, with what they find delivered to a webhook receiver."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime

from litestar.testing import AsyncTestClient

from tenant_adapters.postgres import apply_migrations, create_pool
from tests.api.conftest import ADMIN, app_for
from tests.support.builders import create_body
from tests.support.fake_genesys import CLIENT_ID, CLIENT_SECRET, INTEGRATION_ID, ORG_ID, REGION, FakeGenesys
from tests.support.fake_graph import APP_ID, APP_SECRET, TOKEN, FakeGraph
from tests.support.servers import separate_database
from tests.support.webhook_receiver import Receiver

#: The check interval of this test: each connection is checked again once its last check is this old.
PERIOD = 3.0
NEWS = ["whatsapp.token_expiring", "connection.failed", "connection.recovered"]


def _connection_gauges(text: str) -> dict[tuple[str, str], float]:
    """``tenant_service_connections`` by (kind, health)."""
    found = {}
    for labels, value in re.findall(r"^tenant_service_connections\{([^}]*)\} (\S+)$", text, re.M):
        named = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        found[(named["kind"], named["health"])] = float(value)
    return found


async def _until(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    """Wait for ``condition``; a deadline far beyond the schedule keeps a loaded machine from failing the test."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_dying_token_is_announced_once_and_revoked_credentials_fail_by_webhook(
    postgres_url, redis_server, secrets_in_play
):
    """A WhatsApp token that expires in 6 days: one ``whatsapp.token_expiring`` from a check made within one
    period of storing it, and no second one from the checks after. Then the token revoked and the Genesys
    secret rotated: one ``connection.failed`` for each, delivered by webhook."""
    secrets_in_play.extend([TOKEN, CLIENT_SECRET, APP_SECRET])
    url = await separate_database(postgres_url, "connection_watch")
    apply_migrations(url)
    pool = await create_pool(url)
    await pool.execute("DELETE FROM tenants; DELETE FROM webhooks; DELETE FROM events; DELETE FROM events_unnumbered")
    graph, genesys, receiver = FakeGraph().start(), FakeGenesys().start(), Receiver().start()
    graph.behaviour.expires_at = int(time.time() + 6 * 86400)
    app = app_for(
        url,
        redis_server.url,
        meta_app_id=APP_ID,
        meta_app_secret=APP_SECRET,
        meta_graph_url=graph.url,
        genesys_base_url=genesys.url,
        connection_check_interval=PERIOD,
    )
    try:
        async with AsyncTestClient(app) as client:
            client.headers.update(ADMIN)
            hook = (await client.post("/webhooks", json={"url": receiver.url, "eventTypes": NEWS})).json()
            receiver.secret = hook["secret"]
            tenant_id = (await client.post("/tenants", json=create_body())).json()["tenant"]["id"]
            whatsapp = {"accessToken": TOKEN, "phoneNumberId": "1550001", "wabaId": "1000100"}
            genesys_credentials = {
                "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "region": REGION, "integrationId": INTEGRATION_ID
            }  # fmt: skip
            stored_at = time.time()
            for kind, data in (("whatsapp", whatsapp), ("genesys", genesys_credentials)):
                body = {"type": kind, "credentials": data}
                response = await client.post(f"/tenants/{tenant_id}/credentials", json=body)
                assert response.status_code == 200, response.text

            def received(kind: str) -> list[dict]:
                return [event for event in receiver.unique().values() if event["type"] == kind]

            await _until(lambda: received("whatsapp.token_expiring"), "whatsapp.token_expiring")
            expiring = received("whatsapp.token_expiring")[0]
            checked_at = datetime.fromisoformat(expiring["data"]["checkedAt"]).timestamp()
            print(f"token_expiring: checked {checked_at - stored_at:.2f} s after the token was stored")
            assert checked_at - stored_at <= PERIOD  # within one period of storing it
            assert expiring["subject"] == tenant_id
            assert expiring["data"]["credentialType"] == "whatsapp" and expiring["data"]["health"] == "expiring"
            assert datetime.fromisoformat(expiring["data"]["expiresAt"]).timestamp() == graph.behaviour.expires_at

            # Checked again a period later: still one announcement.
            await _until(lambda: graph.steps().count("debug_token") >= 2, "the token checked again")
            assert len(received("whatsapp.token_expiring")) == 1
            feed = await client.get("/events", params={"type": "whatsapp.token_expiring", "tenantId": tenant_id})
            assert len(feed.json()["events"]) == 1
            assert received("connection.failed") == []  # nothing failed so far

            graph.behaviour.revoked = True  # the customer removed the app
            genesys.behaviour.clients[(REGION, CLIENT_ID)] = ("rotated-in-genesys", ORG_ID)  # the secret rotated
            await _until(lambda: len(received("connection.failed")) == 2, "connection.failed for both connections")
            failed = {event["data"]["credentialType"]: event["data"] for event in received("connection.failed")}
            assert failed["whatsapp"]["health"] == "invalid" and failed["genesys"]["health"] == "invalid"
            assert any("not valid" in check["detail"] for check in failed["whatsapp"]["failedChecks"])
            assert any("wrong region or credentials" in c["detail"] for c in failed["genesys"]["failedChecks"])
            calls = graph.steps().count("debug_token")
            await _until(lambda: graph.steps().count("debug_token") > calls, "the token checked again after failing")
            assert len(received("connection.failed")) == 2 and received("connection.recovered") == []
            health = _connection_gauges((await client.get("/metrics")).text)
            assert health[("whatsapp", "invalid")] == 1 and health[("genesys", "invalid")] == 1
            assert sum(health.values()) == 2
    finally:
        receiver.stop()
        graph.stop()
        genesys.stop()
        await pool.close()
