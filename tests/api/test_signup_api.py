"""WhatsApp Embedded Signup end to end: real app, real Postgres, and a fake Graph API on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tenant_core import ManualClock, Role
from tenant_core.signup_state import SignupStateCodec
from tests.api.conftest import ADMIN, TEST_JWT_SECRET, app_for, bearer
from tests.api.test_tenants_api import assert_envelope
from tests.support.builders import create_body
from tests.support.fake_graph import APP_ID, APP_SECRET, CODE, TOKEN, Failure, FakeGraph, GraphBehaviour


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraph]:
    server = FakeGraph().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def module_client(postgres_url, redis_server, graph) -> AsyncIterator[AsyncTestClient]:
    app = app_for(
        postgres_url,
        redis_server.url,
        meta_app_id=APP_ID,
        meta_app_secret=APP_SECRET,
        meta_graph_url=graph.url,
        meta_graph_timeout=0.5,
    )
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(ADMIN)
        yield client


@pytest.fixture
async def signup_client(module_client, graph, clean_postgres, clean_redis, secrets_in_play):
    graph.behaviour = GraphBehaviour()
    graph.calls.clear()
    secrets_in_play.extend([TOKEN, APP_SECRET])
    return module_client


async def new_tenant(client) -> dict:
    return (await client.post("/tenants", json=create_body())).json()["tenant"]


async def state_for(client, tenant_id: str) -> str:
    response = await client.post(f"/tenants/{tenant_id}/whatsapp/signup-state")
    assert response.status_code == 200
    body = response.json()
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    return body["state"]


def without_credentials(client) -> httpx.AsyncClient:
    """The same running app, without the client's admin default (the signup callback is public)."""
    return httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))


async def signup(client, **body):
    return await without_credentials(client).post("/api/whatsapp/signup", json={"code": CODE, **body})


async def assert_untouched(client, tenant: dict) -> None:
    assert (await client.get(f"/tenants/{tenant['id']}")).json() == tenant
    assert (await client.get(f"/tenants/{tenant['id']}/whatsapp")).json() == {"configured": False}


async def test_happy_path_with_waba_from_debug_token(signup_client, graph):
    tenant = await new_tenant(signup_client)
    response = await signup(signup_client, state=await state_for(signup_client, tenant["id"]))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "WhatsApp signup completed successfully",
        "tenantId": tenant["id"],
        "config": {
            "wabaId": "1000100",
            "phoneNumberId": "1550001",
            "displayPhoneNumber": "+1 555-0001",
            "qualityRating": "GREEN",
            "configured": True,
        },
    }
    assert graph.steps() == ["exchange_code", "debug_token", "phone_numbers", "subscribe_app", "register"]
    assert graph.calls[2][3] == f"Bearer {TOKEN}"  # the token travels in a header, not the URL

    after = (await signup_client.get(f"/tenants/{tenant['id']}")).json()
    assert after["whatsappConfigured"] is True and after["phoneNumberId"] == "1550001"
    assert (await signup_client.get("/tenants/by-phone/1550001")).json()["id"] == tenant["id"]
    config = (await signup_client.get(f"/tenants/{tenant['id']}/whatsapp")).json()
    assert config["accessToken"] == "****" + TOKEN[-4:] and config["wabaId"] == "1000100"
    events = (await signup_client.get(f"/tenants/{tenant['id']}/audit-log")).json()["events"]
    assert events[0]["action"] == "whatsapp.signup_completed" and events[0]["actor"] == "whatsapp-signup"
    assert TOKEN not in response.text


async def test_waba_and_phone_from_the_browser_event(signup_client):
    tenant = await new_tenant(signup_client)
    state = await state_for(signup_client, tenant["id"])
    response = await signup(signup_client, state=state, wabaId="1000200", phoneNumberId="1550003")
    assert response.status_code == 200
    assert response.json()["config"]["wabaId"] == "1000200"
    assert response.json()["config"]["phoneNumberId"] == "1550003"


@pytest.mark.parametrize(
    ("body", "wabas"),
    [({"wabaId": "1000999"}, None), ({}, []), ({"wabaId": "1000100", "phoneNumberId": "999"}, None)],
    ids=["waba-not-covered", "no-waba", "phone-not-in-waba"],
)
async def test_waba_not_found(signup_client, graph, body, wabas):
    if wabas is not None:
        graph.behaviour.wabas = wabas
    tenant = await new_tenant(signup_client)
    response = await signup(signup_client, state=await state_for(signup_client, tenant["id"]), **body)
    assert_envelope(response, 400, "WABA_NOT_FOUND")
    assert "subscribe_app" not in graph.steps()
    await assert_untouched(signup_client, tenant)


@pytest.mark.parametrize("step", ["exchange_code", "debug_token", "phone_numbers", "subscribe_app"])
async def test_each_graph_failure_is_a_502_and_stores_nothing(signup_client, graph, step):
    graph.behaviour.failures[step] = Failure(message=f"{step} refused", fbtrace_id=f"trace-{step}")
    tenant = await new_tenant(signup_client)
    response = await signup(signup_client, state=await state_for(signup_client, tenant["id"]))
    body = assert_envelope(response, 502, "SIGNUP_ERROR")
    assert body["details"] == [
        {
            "field": f"metaGraph.{step}",
            "message": f"{step} refused",
            "fbtraceId": f"trace-{step}",
            "graphCode": 190,
            "graphType": "OAuthException",
        }
    ]
    assert TOKEN not in response.text and APP_SECRET not in response.text
    await assert_untouched(signup_client, tenant)


async def test_graph_timeout_is_a_502(signup_client, graph):
    graph.behaviour.delays["debug_token"] = 2.0
    tenant = await new_tenant(signup_client)
    response = await signup(signup_client, state=await state_for(signup_client, tenant["id"]))
    body = assert_envelope(response, 502, "SIGNUP_ERROR")
    assert "did not answer in time" in body["details"][0]["message"]
    assert graph.steps().count("debug_token") == 3  # reads are retried
    await assert_untouched(signup_client, tenant)


async def test_reads_are_retried_but_the_code_exchange_never(signup_client, graph):
    graph.behaviour.transient_failures = {"phone_numbers": 2}
    tenant = await new_tenant(signup_client)
    response = await signup(signup_client, state=await state_for(signup_client, tenant["id"]))
    assert response.status_code == 200
    assert graph.steps().count("phone_numbers") == 3

    graph.calls.clear()
    graph.behaviour.transient_failures = {"exchange_code": 1}
    other = await new_tenant(signup_client)
    failed = await signup(signup_client, state=await state_for(signup_client, other["id"]))
    assert_envelope(failed, 502, "SIGNUP_ERROR")
    assert graph.steps() == ["exchange_code"]


async def test_bad_expired_forged_replayed_and_foreign_states(signup_client, graph):
    tenant, other = await new_tenant(signup_client), await new_tenant(signup_client)
    codec_past = SignupStateCodec(TEST_JWT_SECRET.encode(), ManualClock(datetime.now(UTC) - timedelta(minutes=16)))
    foreign_secret = SignupStateCodec(b"another-deployment", ManualClock())
    good = await state_for(signup_client, tenant["id"])
    head, payload, signature = good.split(".")
    cases = {
        "garbage": "not-a-state",
        "expired": codec_past.issue(tenant["id"]).state,
        "forged": f"{head}.{payload}.{signature[:-2]}AA",
        "other-secret": foreign_secret.issue(tenant["id"]).state,
        "plain-id-anonymous": tenant["id"],
    }
    for name, state in cases.items():
        response = await signup(signup_client, state=state)
        assert_envelope(response, 400, "INVALID_STATE"), name
    assert graph.steps() == []  # refused before Meta is called

    as_other = bearer(Role.TENANT, tenant_id=other["id"])
    foreign = await signup_client.post("/api/whatsapp/signup", json={"code": CODE, "state": good}, headers=as_other)
    assert_envelope(foreign, 400, "INVALID_STATE")

    assert (await signup(signup_client, state=good)).status_code == 200
    replay = await signup(signup_client, state=good)
    assert_envelope(replay, 400, "INVALID_STATE")
    assert "already been used" in replay.json()["error"]


async def test_plain_tenant_id_from_an_allowed_caller(signup_client):
    tenant = await new_tenant(signup_client)
    own = bearer(Role.TENANT, tenant_id=tenant["id"])
    response = await signup_client.post("/whatsapp/signup", json={"code": CODE, "state": tenant["id"]}, headers=own)
    assert response.status_code == 200


async def test_unknown_tenant_is_404(signup_client, graph):
    tenant = await new_tenant(signup_client)
    state = await state_for(signup_client, tenant["id"])
    await signup_client.delete(f"/tenants/{tenant['id']}")
    assert_envelope(await signup(signup_client, state=state), 404, "NOT_FOUND")
    assert_envelope(await signup_client.post("/tenants/t_0000000000000000/whatsapp/signup-state"), 404, "NOT_FOUND")
    assert graph.steps() == []


async def test_rerun_replaces_the_config_and_releases_the_old_number(signup_client):
    tenant = await new_tenant(signup_client)
    await signup(signup_client, state=await state_for(signup_client, tenant["id"]))
    rerun = await signup(signup_client, state=await state_for(signup_client, tenant["id"]), wabaId="1000200")
    assert rerun.status_code == 200
    assert (await signup_client.get("/tenants/by-phone/1550001")).status_code == 404
    assert (await signup_client.get("/tenants/by-phone/1550003")).json()["id"] == tenant["id"]


async def test_missing_app_credentials_is_503_naming_them(client):
    """Signup and the WhatsApp check need the Meta app: without one, both answer the same 503 naming the
    settings (one error, one message)."""
    tenant = (await client.post("/tenants", json=create_body())).json()["tenant"]
    state = (await client.post(f"/tenants/{tenant['id']}/whatsapp/signup-state")).json()["state"]
    response = await client.post("/api/whatsapp/signup", json={"code": CODE, "state": state})
    body = assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert "META_APP_ID" in body["error"] and "META_APP_SECRET" in body["error"]
    stored = {"accessToken": "EAAG-token-1234567", "phoneNumberId": "1555", "wabaId": "777"}
    assert (await client.post(f"/tenants/{tenant['id']}/whatsapp", json=stored)).status_code == 200
    check = await client.post(f"/tenants/{tenant['id']}/whatsapp/verify")
    assert assert_envelope(check, 503, "SERVICE_UNAVAILABLE") == body
    assert (await client.get("/health")).json()["status"] == "healthy"


async def test_signup_body_validation(signup_client):
    for body in ({"state": "x"}, {"code": "x"}, {"code": "x", "state": "y", "extra": 1}, {"code": 1, "state": "y"}):
        client = signup_client
        assert_envelope(await client.post("/api/whatsapp/signup", json=body), 400, "VALIDATION_ERROR")


async def test_graph_calls_are_counted_by_outcome(signup_client, graph):
    graph.behaviour.failures["subscribe_app"] = Failure()
    tenant = await new_tenant(signup_client)
    await signup(signup_client, state=await state_for(signup_client, tenant["id"]))
    text = (await signup_client.get("/metrics")).text
    assert 'tenant_service_graph_calls_total{outcome="ok",step="exchange_code"}' in text
    assert 'tenant_service_graph_calls_total{outcome="refused",step="subscribe_app"}' in text


async def test_signup_needs_an_active_tenant(signup_client, graph):
    tenant = await new_tenant(signup_client)
    state = await state_for(signup_client, tenant["id"])
    await signup_client.patch(f"/tenants/{tenant['id']}", json={"status": "suspended"})
    assert_envelope(await signup(signup_client, state=state), 403, "TENANT_SUSPENDED")
    assert graph.calls == []  # refused before Meta is called


async def test_signup_binds_the_number_even_when_a_tenant_completes_it(signup_client):
    """A tenant cannot bind a phone number by itself, but a completed signup is Meta's proof of ownership."""
    tenant = await new_tenant(signup_client)
    state = await state_for(signup_client, tenant["id"])
    own = bearer(Role.TENANT, tenant_id=tenant["id"])
    response = await signup_client.post("/api/whatsapp/signup", json={"code": CODE, "state": state}, headers=own)
    assert response.status_code == 200, response.text
    assert (await signup_client.get("/tenants/by-phone/1550001")).json()["id"] == tenant["id"]


@pytest.mark.parametrize(
    "body",
    [
        '{"code": "c", "state": "ss1.eyJ0IjoidCJ9.\u00e9\u00e9\u00e9"}'.encode(),  # non-ASCII signature
        b'{"code": "c", "state": ' + b"[" * 2000 + b"]" * 2000 + b"}",  # nested 2,000 levels
        b'{"code": "\xff\xfe", "state": "x"}',  # not UTF-8
    ],
    ids=["non-ascii-signature", "deep-json", "invalid-utf8"],
)
async def test_hostile_signup_bodies_are_400s(signup_client, graph, body):
    response = await without_credentials(signup_client).post(
        "/api/whatsapp/signup", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] in ("VALIDATION_ERROR", "INVALID_STATE")
    assert graph.calls == []


@pytest.mark.parametrize(
    ("wabas", "phones"),
    [
        (["../../evil/path?inject=1#"], {}),
        (["1000100"], {"1000100": [{"id": "1" * 316, "display_phone_number": "+1"}]}),
        (["1000100"], {"1000100": [{"id": "../1550001"}]}),
    ],
    ids=["path-in-waba-id", "316-char-phone-id", "path-in-phone-id"],
)
async def test_graph_ids_are_validated_before_use(signup_client, graph, wabas, phones):
    graph.behaviour.wabas = wabas
    graph.behaviour.phones = phones
    tenant = await new_tenant(signup_client)
    response = await signup(signup_client, state=await state_for(signup_client, tenant["id"]))
    assert_envelope(response, 502, "SIGNUP_ERROR")
    assert all("evil" not in path for _, path, _, _ in graph.calls)
    await assert_untouched(signup_client, tenant)


async def test_a_number_bound_to_another_tenant_is_a_409_before_meta_registers_it(signup_client, graph):
    """The signup's number (the first of the WABA) is another tenant's: 409 before subscribe_app and register,
    so the holder's registration and stored PIN stay valid; with the number in the body, before Meta is called."""
    holder = (await signup_client.post("/tenants", json=create_body(phoneNumberId="1550001"))).json()["tenant"]
    tenant = await new_tenant(signup_client)
    response = await signup(signup_client, state=await state_for(signup_client, tenant["id"]))
    body = assert_envelope(response, 409, "CONFLICT")
    assert graph.steps() == ["exchange_code", "debug_token", "phone_numbers"]  # reads only
    assert "1550001" in body["error"]

    graph.calls.clear()
    state = await state_for(signup_client, tenant["id"])
    response = await signup(signup_client, state=state, wabaId="1000100", phoneNumberId="1550001")
    assert_envelope(response, 409, "CONFLICT")
    assert graph.steps() == []
    await assert_untouched(signup_client, tenant)
    assert (await signup_client.get("/tenants/by-phone/1550001")).json()["id"] == holder["id"]


async def test_a_tenant_may_sign_up_again_for_its_own_number(signup_client, graph):
    """The conflict check excludes the tenant itself: a rerun for the number it holds registers it again."""
    tenant = await new_tenant(signup_client)
    assert (await signup(signup_client, state=await state_for(signup_client, tenant["id"]))).status_code == 200
    graph.calls.clear()
    again = await signup(signup_client, state=await state_for(signup_client, tenant["id"]), phoneNumberId="1550001")
    assert again.status_code == 200, again.text
    assert graph.steps()[-1] == "register"
