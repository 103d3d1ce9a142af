"""Connection checks end to end: the real app and Postgres, a fake Genesys and the fake Graph API on loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient

from tenant_core import Role
from tests.api.conftest import ADMIN, app_for, bearer
from tests.api.test_signup_api import new_tenant, signup, state_for
from tests.api.test_tenants_api import assert_envelope
from tests.support.builders import create_body
from tests.support.fake_genesys import CLIENT_ID, CLIENT_SECRET, INTEGRATION_ID, ORG_ID, ORG_NAME, FakeGenesys
from tests.support.fake_graph import APP_ID, APP_SECRET, TOKEN, Failure, FakeGraph, GraphBehaviour

GOOD = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "region": "eu_west_1", "integrationId": INTEGRATION_ID}


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeGenesys, FakeGraph]]:
    genesys, graph = FakeGenesys().start(), FakeGraph().start()
    yield genesys, graph
    genesys.stop()
    graph.stop()


@pytest.fixture(scope="module")
async def module_client(postgres_url, redis_server, fakes) -> AsyncIterator[AsyncTestClient]:
    genesys, graph = fakes
    app = app_for(
        postgres_url,
        redis_server.url,
        meta_app_id=APP_ID,
        meta_app_secret=APP_SECRET,
        meta_graph_url=graph.url,
        meta_graph_timeout=0.5,
        genesys_base_url=genesys.url,
        genesys_timeout=0.5,
    )
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(ADMIN)
        yield client


@pytest.fixture
async def client(module_client, fakes, clean_postgres, clean_redis, secrets_in_play):
    genesys, graph = fakes
    genesys.reset()
    graph.behaviour = GraphBehaviour()
    graph.calls.clear()
    graph.registrations.clear()
    secrets_in_play.extend([CLIENT_SECRET, TOKEN, APP_SECRET])
    return module_client


@pytest.fixture
def genesys(fakes) -> FakeGenesys:
    return fakes[0]


@pytest.fixture
def graph(fakes) -> FakeGraph:
    return fakes[1]


async def _stored(client, **fields) -> str:
    tenant = (await client.post("/tenants", json=create_body(**fields))).json()["tenant"]
    response = await client.put(f"/tenants/{tenant['id']}/genesys/credentials", json=GOOD)
    assert response.status_code == 200, response.text
    return tenant["id"]


async def _verify(client, tenant_id: str, **kwargs) -> dict:
    response = await client.post(f"/tenants/{tenant_id}/genesys/credentials/verify", **kwargs)
    assert response.status_code == 200, response.text
    assert CLIENT_SECRET not in response.text
    return response.json()


def _checks(report: dict) -> dict[str, bool]:
    return {check["name"]: check["ok"] for check in report["checks"]}


async def test_a_good_genesys_connection(client, genesys):
    tenant_id = await _stored(client)
    report = await _verify(client, tenant_id)
    assert report["ok"] is True and _checks(report) == {"token": True, "org": True, "integration": True}
    assert datetime.fromisoformat(report["checkedAt"]) <= datetime.now(UTC)
    # login and API were asked for the stored region's hosts
    assert [(step, host) for step, host, _ in genesys.calls] == [
        ("token", "login.mypurecloud.ie"),
        ("organization", "api.mypurecloud.ie"),
        ("integration", "api.mypurecloud.ie"),
    ]
    tenant = (await client.get(f"/tenants/{tenant_id}")).json()
    assert (tenant["genesysOrgId"], tenant["genesysOrgName"]) == (ORG_ID, ORG_NAME)
    view = (await client.get(f"/tenants/{tenant_id}/genesys/credentials")).json()
    assert view["lastCheck"] == report and view["clientSecret"] == "****" + CLIENT_SECRET[-4:]
    metrics = (await client.get("/metrics")).text
    assert 'tenant_service_genesys_calls_total{outcome="ok",step="token"}' in metrics


async def test_the_tenant_itself_may_verify_and_others_may_not(client):
    tenant_id = await _stored(client)
    own = await _verify(client, tenant_id, headers=bearer(Role.TENANT, tenant_id=tenant_id))
    assert own["ok"] is True
    other = (await client.post("/tenants", json=create_body())).json()["tenant"]["id"]
    refused = await client.post(
        f"/tenants/{tenant_id}/genesys/credentials/verify", headers=bearer(Role.TENANT, tenant_id=other)
    )
    assert_envelope(refused, 403, "FORBIDDEN")


@pytest.mark.parametrize(
    "change", [{"clientSecret": "not-the-secret"}, {"region": "mypurecloud.com"}], ids=["wrong-secret", "wrong-region"]
)
async def test_wrong_secret_or_region(client, change):
    tenant = (await client.post("/tenants", json=create_body())).json()["tenant"]
    assert (
        await client.put(f"/tenants/{tenant['id']}/genesys/credentials", json={**GOOD, **change})
    ).status_code == 200
    report = await _verify(client, tenant["id"])
    token = report["checks"][0]
    assert report["ok"] is False and token["name"] == "token" and token["ok"] is False
    assert "wrong region or credentials" in token["detail"]
    assert (await client.get(f"/tenants/{tenant['id']}")).json()["genesysOrgId"] is None

    refused = await client.put(f"/tenants/{tenant['id']}/genesys/credentials?verify=true", json={**GOOD, **change})
    body = assert_envelope(refused, 400, "VALIDATION_ERROR")
    assert body["details"][0]["field"] == "token" and "wrong region" in body["details"][0]["message"]
    assert "not-the-secret" not in refused.text


async def test_verify_true_stores_only_what_works(client):
    tenant = (await client.post("/tenants", json=create_body())).json()["tenant"]
    path = f"/tenants/{tenant['id']}/genesys/credentials"
    missing = await client.put(f"{path}?verify=true", json={**GOOD, "integrationId": "no-such-integration"})
    body = assert_envelope(missing, 400, "VALIDATION_ERROR")
    assert body["details"] == [
        {
            "field": "integration",
            "message": f"Open Messaging integration no-such-integration does not exist in org {ORG_NAME} ({ORG_ID})",
        }
    ]
    assert_envelope(await client.get(path), 404, "NOT_FOUND")  # nothing stored
    assert (await client.get(f"/tenants/{tenant['id']}")).json() == tenant

    stored = await client.put(f"{path}?verify=true", json=GOOD)
    assert stored.status_code == 200, stored.text
    after = (await client.get(f"/tenants/{tenant['id']}")).json()
    assert after["genesysOrgId"] == ORG_ID and after["genesysIntegrationId"] == INTEGRATION_ID
    assert (await client.get(path)).json()["lastCheck"]["ok"] is True


async def test_an_org_mismatch(client):
    tenant_id = await _stored(client, genesysOrgId="another-org")
    report = await _verify(client, tenant_id)
    assert _checks(report) == {"token": True, "org": False, "integration": True}
    assert "another-org" in report["checks"][1]["detail"]
    assert (await client.get(f"/tenants/{tenant_id}")).json()["genesysOrgId"] == "another-org"
    conflict = await client.put(f"/tenants/{tenant_id}/genesys/credentials?verify=true", json=GOOD)
    assert_envelope(conflict, 409, "CONFLICT")


async def test_a_missing_integration(client, genesys):
    tenant_id = await _stored(client)
    genesys.behaviour.integrations = {ORG_ID: set()}
    report = await _verify(client, tenant_id)
    assert _checks(report) == {"token": True, "org": True, "integration": False}


async def test_genesys_timeouts_are_failed_checks(client, genesys):
    tenant_id = await _stored(client)
    genesys.behaviour.delays["token"] = 1.5
    started = time.monotonic()
    report = await _verify(client, tenant_id)
    assert time.monotonic() - started < 1.4  # the service gave up at its timeout
    assert report["ok"] is False and "did not answer in time" in report["checks"][0]["detail"]
    genesys.behaviour.delays = {"integration": 1.5}
    report = await _verify(client, tenant_id)
    assert _checks(report) == {"token": True, "org": True, "integration": False}
    metrics = (await client.get("/metrics")).text
    assert 'tenant_service_genesys_calls_total{outcome="timeout",step="integration"}' in metrics


async def _signed_up(client, **body) -> str:
    tenant = await new_tenant(client)
    response = await signup(client, state=await state_for(client, tenant["id"]), **body)
    assert response.status_code == 200, response.text
    return tenant["id"]


async def test_signup_registers_the_number_with_a_sealed_pin(client, graph, secrets_in_play):
    tenant_id = await _signed_up(client)
    assert graph.steps()[-2:] == ["subscribe_app", "register"]
    [(number, body)] = graph.registrations
    assert number == "1550001" and body["messaging_product"] == "whatsapp" and len(body["pin"]) == 6
    secrets_in_play.append(body["pin"])
    config = (await client.get(f"/tenants/{tenant_id}/whatsapp")).json()
    assert config["pin"] == "****" and config["health"] == "ok" and config["tokenExpiresAt"] is None
    clear = await client.get(f"/tenants/{tenant_id}/credentials/whatsapp", headers=bearer(Role.SERVICE))
    assert clear.json()["credentials"]["pin"] == body["pin"]  # services may use it; no one else sees it
    for path in (f"/tenants/{tenant_id}/audit-log", f"/events?tenantId={tenant_id}", f"/tenants/{tenant_id}"):
        assert body["pin"] not in (await client.get(path)).text


@pytest.mark.parametrize(
    ("event", "registered", "number"),
    [
        ("FINISH", True, "1550001"),
        ("FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING", False, "1550001"),
        ("FINISH_ONLY_WABA", False, None),
    ],
)
async def test_each_signup_event(client, graph, event, registered, number):
    tenant = await new_tenant(client)
    response = await signup(client, state=await state_for(client, tenant["id"]), event=event)
    assert response.status_code == 200, response.text
    config = response.json()["config"]
    assert config["phoneNumberId"] == number and config["configured"] is (number is not None)
    assert ("register" in graph.steps()) is registered
    assert ("phone_numbers" in graph.steps()) is (number is not None)
    after = (await client.get(f"/tenants/{tenant['id']}")).json()
    assert after["phoneNumberId"] == number and after["whatsappConfigured"] is (number is not None)
    view = (await client.get(f"/tenants/{tenant['id']}/whatsapp")).json()
    assert view["configured"] is True and view["wabaId"] == "1000100"
    meta = await client.get(f"/tenants/{tenant['id']}/credentials/meta", headers=bearer(Role.SERVICE))
    assert meta.status_code == (200 if number else 404)


async def test_unknown_signup_events_are_400s(client, graph):
    tenant = await new_tenant(client)
    state = await state_for(client, tenant["id"])
    for body in ({"event": "CANCEL"}, {"event": "FINISH_ONLY_WABA", "phoneNumberId": "1550001"}):
        assert_envelope(await signup(client, state=state, **body), 400, "VALIDATION_ERROR")
    assert graph.calls == []


async def test_a_failed_registration_leaves_nothing_stored(client, graph):
    graph.behaviour.failures["register"] = Failure(message="Two-step PIN mismatch", code=133005)
    tenant = await new_tenant(client)
    response = await signup(client, state=await state_for(client, tenant["id"]))
    body = assert_envelope(response, 502, "SIGNUP_ERROR")
    assert body["details"][0]["field"] == "metaGraph.register"
    assert not any(pin in response.text for _, sent in graph.registrations for pin in [sent["pin"]])
    assert (await client.get(f"/tenants/{tenant['id']}")).json() == tenant
    assert (await client.get(f"/tenants/{tenant['id']}/whatsapp")).json() == {"configured": False}
    assert (await client.get("/tenants/by-phone/1550001")).status_code == 404


async def test_an_expiring_token(client, graph):
    soon = int(time.time()) + 3 * 86400
    graph.behaviour.data_access_expires_at = soon
    tenant_id = await _signed_up(client)
    view = (await client.get(f"/tenants/{tenant_id}/whatsapp")).json()
    assert view["health"] == "expiring"
    assert datetime.fromisoformat(view["tokenExpiresAt"]) == datetime.fromtimestamp(soon, UTC)


async def test_whatsapp_verify_reads_the_number_and_a_revoked_token_is_invalid(client, graph):
    tenant_id = await _signed_up(client)
    graph.behaviour.phones["1000100"][0] = {
        **graph.behaviour.phones["1000100"][0],
        "quality_rating": "YELLOW",
        "code_verification_status": "EXPIRED",
    }
    response = await client.post(f"/tenants/{tenant_id}/whatsapp/verify")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True and list(_checks(report)) == ["token", "scopes", "waba", "phone_number"]
    view = (await client.get(f"/tenants/{tenant_id}/whatsapp")).json()
    assert view["qualityRating"] == "YELLOW" and view["codeVerificationStatus"] == "EXPIRED"
    assert view["verifiedName"] == "Acme" and view["lastCheck"] == report and view["health"] == "ok"

    graph.behaviour.revoked = True
    report = (await client.post(f"/tenants/{tenant_id}/whatsapp/verify")).json()
    assert report["ok"] is False and report["checks"][0]["name"] == "token"
    assert (await client.get(f"/tenants/{tenant_id}/whatsapp")).json()["health"] == "invalid"
    assert TOKEN not in str(report)
    metrics = (await client.get("/metrics")).text
    assert 'tenant_service_graph_calls_total{outcome="ok",step="phone_number"}' in metrics
    assert 'tenant_service_graph_calls_total{outcome="refused",step="phone_number"}' in metrics


async def test_whatsapp_health_is_unknown_for_a_token_stored_by_hand(client):
    tenant = (await client.post("/tenants", json=create_body())).json()["tenant"]
    body = {"wabaId": "1000100", "phoneNumberId": "1550001", "accessToken": TOKEN}
    assert (await client.post(f"/tenants/{tenant['id']}/whatsapp", json=body)).status_code == 200
    view = (await client.get(f"/tenants/{tenant['id']}/whatsapp")).json()
    assert view["health"] == "unknown" and view["tokenExpiresAt"] is None


async def test_a_graph_timeout_is_a_failed_check_and_keeps_the_health(client, graph):
    tenant_id = await _signed_up(client)
    graph.behaviour.delays["debug_token"] = 2.0
    response = await client.post(f"/tenants/{tenant_id}/whatsapp/verify")
    assert response.status_code == 200, response.text
    token = response.json()["checks"][0]
    assert token["ok"] is False and "did not answer in time" in token["detail"]
    view = (await client.get(f"/tenants/{tenant_id}/whatsapp")).json()
    assert view["health"] == "ok" and view["lastCheck"]["ok"] is False


async def test_a_graph_message_that_repeats_the_token_reaches_nobody(client, graph):
    """Graph answers a token it cannot parse with "Malformed access token <the token>" (code 190). That message
    became the check's detail as sent: in the report, the masked WhatsApp view's lastCheck, the
    connection.failed event (feed, webhooks, bus) and the audit log, all places where the token is never shown."""
    tenant_id = await _signed_up(client)
    graph.behaviour.failures["debug_token"] = Failure(message=f"Malformed access token {TOKEN}", code=190)
    response = await client.post(f"/tenants/{tenant_id}/whatsapp/verify")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is False and "Malformed access token" in report["checks"][0]["detail"]
    for path in (f"/tenants/{tenant_id}/whatsapp", f"/events?tenantId={tenant_id}", f"/tenants/{tenant_id}/audit-log"):
        shown = await client.get(path)
        assert shown.status_code == 200 and TOKEN not in shown.text, path
    assert "connection.failed" in (await client.get(f"/events?tenantId={tenant_id}")).text
    assert TOKEN not in response.text
