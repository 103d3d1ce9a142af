"""The event feed and webhooks over HTTP, on real Postgres and Redis, with a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tenant_core import Role
from tests.api.conftest import bearer
from tests.support.builders import create_body
from tests.support.webhook_receiver import Receiver

GENESYS = {"clientId": "client-ev", "clientSecret": "genesys-secret-ev", "region": "mypurecloud.ie"}
ALL_TYPES = [
    "tenant.created",
    "tenant.updated",
    "tenant.suspended",
    "tenant.reactivated",
    "tenant.deleted",
    "tenant.onboarding_completed",
    "tenant.routing_changed",
    "credentials.updated",
    "credentials.deleted",
    "whatsapp.connected",
    "api_key.created",
    "api_key.revoked",
]


@pytest.fixture
def secrets_in_play() -> list[str]:
    return [GENESYS["clientSecret"], "EAAG-ev-token"]


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


async def _all_events(client, **params) -> list[dict]:
    events, after = [], None
    while True:
        query = {**params, **({"after": after} if after else {}), "limit": 100}
        page = await client.get("/events", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        events += body["events"]
        if not body["events"]:
            return events
        after = body["next"]


async def _settled_deliveries(client, webhook_id: str) -> list[dict]:
    """The subscription's deliveries once none is pending (the receiver sees a delivery before the service
    has recorded its answer)."""
    for _ in range(200):
        found = (await client.get(f"/webhooks/{webhook_id}/deliveries")).json()["deliveries"]
        if found and all(d["state"] != "pending" for d in found):
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"deliveries still pending: {found}")


async def _new_tenant(client, **fields) -> str:
    created = await client.post("/tenants", json=create_body(**fields))
    assert created.status_code == 201, created.text
    return created.json()["tenant"]["id"]


async def test_every_kind_of_change_writes_its_event_and_no_secret(client):
    tenant = await _new_tenant(client, phoneNumberId="1777")
    assert (await client.patch(f"/tenants/{tenant}", json={"name": "Renamed"})).status_code == 200
    assert (await client.patch(f"/tenants/{tenant}", json={"status": "suspended"})).status_code == 200
    assert (await client.patch(f"/tenants/{tenant}", json={"status": "active"})).status_code == 200
    assert (await client.post(f"/tenants/{tenant}/complete-onboarding", json={})).status_code == 200
    stored = await client.put(f"/tenants/{tenant}/genesys/credentials", json={**GENESYS, "integrationId": "intg-ev"})
    assert stored.status_code == 200, stored.text
    whatsapp = {"wabaId": "1000100", "phoneNumberId": "1778", "accessToken": "EAAG-ev-token"}
    assert (await client.post(f"/tenants/{tenant}/whatsapp", json=whatsapp)).status_code == 200
    assert (await client.delete(f"/tenants/{tenant}/credentials/genesys")).status_code == 200
    key = (await client.post(f"/tenants/{tenant}/api-keys", json={"name": "ci"})).json()
    assert (await client.delete(f"/tenants/{tenant}/api-keys/{key['id']}")).status_code == 200
    assert (await client.delete(f"/tenants/{tenant}")).status_code == 200

    events = await _all_events(client, tenantId=tenant)
    assert [e["type"] for e in events] == [
        "tenant.created",
        "tenant.routing_changed",  # created with a phone number id
        "api_key.created",  # its first key
        "tenant.updated",
        "tenant.suspended",
        "tenant.reactivated",
        "tenant.onboarding_completed",
        "credentials.updated",
        "tenant.updated",  # the credentials set the tenant's integration id and region
        "tenant.routing_changed",  # the integration id arrived with the credentials
        "credentials.updated",
        "tenant.updated",  # whatsappConfigured and the number moved with the credential
        "tenant.routing_changed",  # the WhatsApp number moved 1777 → 1778
        "credentials.deleted",  # the integration id stays on the tenant: it still routes
        "api_key.created",
        "api_key.revoked",
        "tenant.deleted",
        "tenant.routing_changed",  # a deleted tenant routes nothing
    ]
    sequences = [int(e["sequence"]) for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    for event in events:
        assert event["specversion"] == "1.0" and event["source"] == "/tenant-service"
        assert event["subject"] == tenant and event["id"] and event["time"].endswith("Z")
    by_type = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["data"])
    assert by_type["tenant.updated"][0]["changedFields"] == ["name"]
    assert by_type["tenant.updated"][0]["tenant"]["name"] == "Renamed"
    assert by_type["tenant.updated"][2]["changedFields"] == ["phoneNumberId", "whatsappConfigured"]
    assert by_type["tenant.suspended"][0]["tenant"]["status"] == "suspended"
    assert by_type["credentials.updated"] == [{"credentialType": "genesys"}, {"credentialType": "whatsapp"}]
    assert by_type["tenant.routing_changed"][2] == {
        "tenant": by_type["tenant.routing_changed"][2]["tenant"],
        "previous": {"phoneNumberId": "1777", "genesysIntegrationId": "intg-ev", "genesysOrgId": None},
        "current": {"phoneNumberId": "1778", "genesysIntegrationId": "intg-ev", "genesysOrgId": None},
    }
    assert by_type["api_key.revoked"][0]["apiKeyId"] == key["id"]
    feed = str(events)
    assert GENESYS["clientSecret"] not in feed and "EAAG-ev-token" not in feed and key["apiKey"] not in feed


async def test_a_refused_change_writes_no_event(client):
    tenant = await _new_tenant(client)
    before = await _all_events(client)
    refused = await client.patch(f"/tenants/{tenant}", json={"name": "X"}, headers={"If-Match": '"99"'})
    assert refused.status_code == 412
    assert (await client.patch(f"/tenants/{tenant}", json={"plan": "nope"})).status_code == 400
    assert await _all_events(client) == before


async def test_the_cursor_pages_filters_and_stays_put_when_nothing_new(client):
    first = await _new_tenant(client)
    second = await _new_tenant(client)
    page = (await client.get("/events", params={"limit": 2})).json()
    assert [e["type"] for e in page["events"]] == ["tenant.created", "api_key.created"]
    rest = (await client.get("/events", params={"after": page["next"]})).json()
    assert [e["subject"] for e in rest["events"]] == [second, second]
    end = (await client.get("/events", params={"after": rest["next"]})).json()
    assert end == {"events": [], "next": rest["next"]}
    only_created = await _all_events(client, type="tenant.created")
    assert [e["subject"] for e in only_created] == [first, second]
    both = await _all_events(client, type="tenant.created,api_key.created", tenantId=first)
    assert len(both) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [({"after": "-1"}, "after"), ({"after": "abc"}, "after"), ({"type": "tenant.exploded"}, "type")],
)
async def test_bad_feed_parameters_are_400s_naming_the_parameter(client, params, field):
    response = await client.get("/events", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert field in response.text


async def test_a_cursor_older_than_retention_is_410(client, clean_postgres):
    await _new_tenant(client)
    await _new_tenant(client)
    head = int((await client.get("/events")).json()["next"])
    # What retention's prune leaves behind: the oldest events gone and the horizon moved past them.
    await clean_postgres.execute("DELETE FROM event_positions WHERE position <= $1", head - 1)
    await clean_postgres.execute("UPDATE events_horizon SET pruned_through = $1", head - 1)
    expired = await client.get("/events", params={"after": str(head - 2)})
    assert expired.status_code == 410
    assert expired.json()["code"] == "CURSOR_EXPIRED"
    fresh = (await client.get("/events")).json()  # without a cursor: from the oldest event kept
    assert [int(e["sequence"]) for e in fresh["events"]] == [head]


async def test_a_tenant_reads_only_its_own_events_and_cannot_manage_webhooks(client, anonymous):
    mine = await _new_tenant(client)
    other = await _new_tenant(client)
    as_mine = bearer(Role.TENANT, tenant_id=mine)
    own = await anonymous.get("/events", headers=as_mine)
    assert own.status_code == 200
    assert {e["subject"] for e in own.json()["events"]} == {mine}
    assert (await anonymous.get("/events", params={"tenantId": other}, headers=as_mine)).status_code == 403
    for method, path in [("GET", "/webhooks"), ("POST", "/webhooks")]:
        for who in (as_mine, bearer(Role.SERVICE)):
            body = {"url": "http://127.0.0.1:9/x", "eventTypes": ["tenant.created"]}
            assert (await anonymous.request(method, path, json=body, headers=who)).status_code == 403


async def test_a_service_reads_every_tenants_events(client, anonymous):
    first, second = await _new_tenant(client), await _new_tenant(client)
    feed = await anonymous.get("/events", headers=bearer(Role.SERVICE))
    assert {e["subject"] for e in feed.json()["events"]} == {first, second}


async def test_webhook_secret_is_shown_once_and_deliveries_verify(client, receiver):
    created = await client.post(
        "/webhooks", json={"url": receiver.url, "eventTypes": ["tenant.created", "tenant.updated"]}
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and hook["status"] == "active"
    receiver.secret = hook["secret"]
    listed = await client.get("/webhooks")
    assert hook["secret"] not in listed.text
    assert (await client.get(f"/webhooks/{hook['id']}")).json()["url"] == receiver.url

    tenant = await _new_tenant(client)
    await client.patch(f"/tenants/{tenant}", json={"name": "One"})
    await client.patch(f"/tenants/{tenant}", json={"name": "Two"})
    await receiver.wait_for(lambda r: len(r.unique()) == 3)
    received = receiver.events()
    assert [e["type"] for e in received] == ["tenant.created", "tenant.updated", "tenant.updated"]
    assert [e["data"]["tenant"]["name"] for e in received[1:]] == ["One", "Two"]  # in commit order
    assert receiver.rejected_signatures == 0
    feed_ids = {e["id"] for e in await _all_events(client, type="tenant.created,tenant.updated")}
    assert set(receiver.unique()) == feed_ids  # webhook-id is the event id: one id per event

    deliveries = await _settled_deliveries(client, hook["id"])
    assert {d["state"] for d in deliveries} == {"delivered"}
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["statusCode"] == 204 for d in deliveries)
    assert all(d["attempts"][0]["latencyMs"] > 0 for d in deliveries)


async def test_failed_attempts_are_retried_then_the_subscription_is_marked_failing(client, receiver):
    receiver.fail_first = 2
    hook = (await client.post("/webhooks", json={"url": receiver.url, "eventTypes": ["tenant.created"]})).json()
    receiver.secret = hook["secret"]
    await _new_tenant(client)
    await receiver.wait_for(lambda r: len(r.received) == 1)
    (delivery,) = await _settled_deliveries(client, hook["id"])
    assert [a["statusCode"] for a in delivery["attempts"]] == [503, 503, 204]
    assert delivery["state"] == "delivered"

    receiver.fail_first = 100  # never again: the schedule (3 retries in the tests) runs out
    await _new_tenant(client)

    async def failing() -> bool:
        return (await client.get(f"/webhooks/{hook['id']}")).json()["status"] == "failing"

    for _ in range(100):
        if await failing():
            break
        await asyncio.sleep(0.1)
    assert await failing()
    newest = (await client.get(f"/webhooks/{hook['id']}/deliveries")).json()["deliveries"][0]
    assert newest["state"] == "failed" and len(newest["attempts"]) == 4
    assert newest["attempts"][0]["error"] == "HTTP 503"

    receiver.fail_first = 0
    retried = await client.post(f"/webhooks/{hook['id']}/deliveries/{newest['id']}/retry")
    assert retried.status_code == 202
    await receiver.wait_for(lambda r: len(r.received) == 2)
    for _ in range(50):
        if (await client.get(f"/webhooks/{hook['id']}")).json()["status"] == "active":
            break
        await asyncio.sleep(0.1)
    assert (await client.get(f"/webhooks/{hook['id']}")).json()["status"] == "active"


async def test_failed_attempts_are_logged_and_a_subscription_turning_failing_at_error(
    client, receiver, capfd, secrets_in_play
):
    """A receiver answering 500: a WARNING line per attempt (subscription, tenant, event, attempt, reason), then
    one ERROR line when the subscription turns failing; never its URL, secret or payload."""
    receiver.fail_first, receiver.fail_status = 100, 500
    hook = (await client.post("/webhooks", json={"url": receiver.url, "eventTypes": ["tenant.created"]})).json()
    receiver.secret = hook["secret"]
    secrets_in_play.append(hook["secret"])
    tenant = await _new_tenant(client)
    (event,) = await _all_events(client, type="tenant.created")
    output = ""
    for _ in range(200):
        output += capfd.readouterr().err
        if f'"level":"ERROR","msg":"Webhook subscription {hook["id"]}' in output:
            break
        await asyncio.sleep(0.05)
    sys.stderr.write(output)  # back to the captured output, for the leak check
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    lines = [line for line in lines if line.get("subscriptionId") == hook["id"]]  # not an earlier test's
    failed = [line for line in lines if line["msg"].startswith("Webhook delivery attempt")]
    assert [(line["level"], line["attempt"], line["reason"]) for line in failed] == [
        ("WARNING", n, "HTTP 500") for n in (1, 2, 3, 4)
    ]
    assert {(line["subscriptionId"], line["tenantId"], line["eventId"]) for line in failed} == {
        (hook["id"], tenant, event["id"])
    }
    (failing,) = [line for line in lines if line["level"] == "ERROR"]
    assert failing["subscriptionId"] == hook["id"] and failing["eventId"] == event["id"]
    assert f"{hook['id']} is failing" in failing["msg"]
    name = (await client.get(f"/tenants/{tenant}")).json()["name"]  # in the payload, so never in these lines
    delivery_lines = "\n".join(json.dumps(line) for line in [*failed, failing])
    assert receiver.url not in delivery_lines and name not in delivery_lines


async def test_a_slow_receiver_that_comes_back_gets_every_event_in_order(client, receiver):
    hook = (await client.post("/webhooks", json={"url": receiver.url, "eventTypes": ["tenant.updated"]})).json()
    receiver.secret = hook["secret"]
    receiver.delay_seconds = 0.05
    tenant = await _new_tenant(client)
    receiver.stop()  # gone: attempts fail and are retried
    for n in range(5):
        assert (await client.patch(f"/tenants/{tenant}", json={"name": f"Name {n}"})).status_code == 200
    await asyncio.sleep(0.5)
    receiver.start()
    await receiver.wait_for(lambda r: len(r.unique()) == 5, timeout=20)
    names = [e["data"]["tenant"]["name"] for e in receiver.unique().values()]
    assert names == [f"Name {n}" for n in range(5)]


async def test_tenant_filter_and_disabled_subscriptions(client, receiver):
    watched = await _new_tenant(client)
    ignored = await _new_tenant(client)
    body = {"url": receiver.url, "eventTypes": ["tenant.updated"], "tenantId": watched}
    hook = (await client.post("/webhooks", json=body)).json()
    receiver.secret = hook["secret"]
    await client.patch(f"/tenants/{ignored}", json={"name": "Ignored"})
    await client.patch(f"/tenants/{watched}", json={"name": "Watched"})
    await receiver.wait_for(lambda r: len(r.received) == 1)
    assert receiver.events()[0]["subject"] == watched

    paused = await client.patch(f"/webhooks/{hook['id']}", json={"status": "disabled"})
    assert paused.status_code == 200 and paused.json()["status"] == "disabled"
    await client.patch(f"/tenants/{watched}", json={"name": "Unseen"})
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 1
    assert (await client.delete(f"/webhooks/{hook['id']}")).status_code == 204
    assert (await client.get(f"/webhooks/{hook['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "eventTypes": ["tenant.created"]}, "url"),
        ({"url": "http://127.0.0.1:9/x", "eventTypes": []}, "eventTypes"),
        ({"url": "http://127.0.0.1:9/x", "eventTypes": ["tenant.exploded"]}, "eventTypes"),
        ({"url": "http://127.0.0.1:9/x", "eventTypes": ["tenant.created"], "tenantId": "t_nope"}, "tenantId"),
        ({"url": "http://127.0.0.1:9/x", "eventTypes": ["tenant.created"], "secret": "mine"}, "secret"),
    ],
)
async def test_bad_subscriptions_are_400s_and_store_nothing(client, body, field):
    response = await client.post("/webhooks", json=body)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert (await client.get("/webhooks")).json() == {"webhooks": []}
