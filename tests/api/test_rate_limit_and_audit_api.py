"""Per-tenant rate limits shared through Redis, and the audit log written with the change it records."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tenant_core import Role
from tests.api.conftest import ADMIN, app_for, bearer
from tests.support.builders import create_body


async def test_rate_limit_is_shared_by_two_instances(postgres_url, clean_postgres, clean_redis, client):
    """Two app instances on one Redis: together they admit no more than the tenant's rateLimit per minute."""
    created = (await client.post("/tenants", json=create_body(rateLimit=5))).json()
    tenant_id, key = created["tenant"]["id"], created["apiKey"]
    async with (
        AsyncTestClient(app_for(postgres_url, clean_redis), raise_server_exceptions=False) as one,
        AsyncTestClient(app_for(postgres_url, clean_redis), raise_server_exceptions=False) as two,
    ):
        responses = [
            await (one if i % 2 else two).get(f"/tenants/{tenant_id}", headers={"X-API-Key": key}) for i in range(12)
        ]
    ok = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert len(ok) == 5 and len(limited) == 7
    assert ok[0].headers["x-ratelimit-limit"] == "5" and ok[-1].headers["x-ratelimit-remaining"] == "0"
    for response in limited:
        assert response.json()["code"] == "RATE_LIMITED"
        assert int(response.headers["retry-after"]) in range(1, 62)
        assert response.headers["x-ratelimit-remaining"] == "0"


async def test_admin_and_service_are_not_rate_limited(client):
    created = (await client.post("/tenants", json=create_body(rateLimit=1))).json()
    for headers in ({}, bearer(Role.SERVICE, subject="router")):  # the client's admin token, then a service
        for _ in range(3):
            response = await client.get(f"/tenants/{created['tenant']['id']}", headers=headers)
            assert response.status_code == 200 and "x-ratelimit-limit" not in response.headers


async def test_audit_log_records_committed_changes_only(client):
    created = (
        await client.post("/tenants", json=create_body(domain="acme.com"), headers={"X-Request-ID": "req-create"})
    ).json()
    tenant_id = created["tenant"]["id"]
    other = (await client.post("/tenants", json=create_body(domain="taken.com"))).json()
    await client.patch(f"/tenants/{tenant_id}", json={"name": "Renamed", "rateLimit": 50})
    failed = await client.patch(f"/tenants/{tenant_id}", json={"domain": "taken.com"})
    assert failed.status_code == 409

    log = (await client.get(f"/tenants/{tenant_id}/audit-log")).json()
    actions = [e["action"] for e in log["events"]]
    assert actions == ["tenant.updated", "api_key.created", "tenant.created"]  # newest first, no failed update
    assert log["total"] == 3
    updated, _, create_event = log["events"]
    assert updated["changes"] == ["name", "rateLimit"]
    assert updated["actor"] == "test-admin" and updated["tenantId"] == tenant_id
    assert create_event["requestId"] == "req-create" and "domain" in create_event["changes"]
    assert other["tenant"]["id"] not in str(log)


async def test_audit_log_outlives_the_tenant_and_is_paginated(client):
    tenant_id = (await client.post("/tenants", json=create_body())).json()["tenant"]["id"]
    for i in range(3):
        await client.patch(f"/tenants/{tenant_id}", json={"name": f"Name {i}"})
    page = (await client.get(f"/tenants/{tenant_id}/audit-log", params={"limit": 2, "offset": 1})).json()
    assert (page["total"], page["limit"], page["offset"], len(page["events"])) == (5, 2, 1, 2)
    await client.delete(f"/tenants/{tenant_id}")
    after = (await client.get(f"/tenants/{tenant_id}/audit-log")).json()
    assert after["events"][0]["action"] == "tenant.deleted"
    assert (await client.get("/tenants/t_0000000000000000/audit-log")).status_code == 404
    assert (await client.get(f"/tenants/{tenant_id}/audit-log", params={"limit": 0})).status_code == 400


async def test_cors_allows_only_configured_origins(postgres_url, clean_postgres, clean_redis):
    app = app_for(postgres_url, clean_redis, allowed_origins=("https://console.example.com",))
    async with AsyncTestClient(app, raise_server_exceptions=False) as cors_client:
        cors_client.headers.update(ADMIN)
        preflight = {"Origin": "https://console.example.com", "Access-Control-Request-Method": "GET"}
        allowed = await cors_client.options("/tenants", headers=preflight)
        assert allowed.headers.get("access-control-allow-origin") == "https://console.example.com"
        other = await cors_client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_auth_disabled_lets_callers_through_and_warns(postgres_url, clean_postgres, clean_redis, capfd):
    app = app_for(postgres_url, clean_redis, auth_disabled=True)
    async with AsyncTestClient(app, raise_server_exceptions=False) as open_client:
        assert (await open_client.post("/tenants", json=create_body())).status_code == 201
    assert "AUTH_DISABLED=true" in capfd.readouterr().err


async def test_audit_log_pages_by_cursor(client):
    tenant_id = (await client.post("/tenants", json=create_body())).json()["tenant"]["id"]
    for n in range(5):
        await client.patch(f"/tenants/{tenant_id}", json={"name": f"Name {n}"})
    by_offset = (await client.get(f"/tenants/{tenant_id}/audit-log?limit=100")).json()["events"]
    walked, url = [], f"/tenants/{tenant_id}/audit-log?limit=3"
    while url:
        page = (await client.get(url)).json()
        walked += page["events"]
        url = f"/tenants/{tenant_id}/audit-log?limit=3&after={page['next']}" if page["next"] else None
    assert walked == by_offset and len(walked) == 7  # created, first key, five renames
    bad = await client.get(f"/tenants/{tenant_id}/audit-log?after=WyJ4Il0")  # a cursor of the wrong kind
    assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR"
