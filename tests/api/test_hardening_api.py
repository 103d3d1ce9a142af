"""The findings of the attacker's review, each as the request that showed it (they all failed before the fix)."""

from __future__ import annotations

import time

import jwt
import pytest

from tenant_core import Role
from tests.api.conftest import ADMIN, TEST_JWT_SECRET, app_for, bearer
from tests.api.test_tenants_api import assert_envelope
from tests.support.builders import create_body

WHATSAPP = {"wabaId": "1020", "phoneNumberId": "15550007777", "accessToken": "EAAG-tenant-typed-token"}
GENESYS = {
    "clientId": "c",
    "clientSecret": "genesys-secret-hard",
    "region": "mypurecloud.com",
    "integrationId": "intg-x",
}


@pytest.fixture
async def tenant(client) -> dict:
    created = (await client.post("/tenants", json=create_body())).json()
    return {"id": created["tenant"]["id"], "key": created["apiKey"]}


@pytest.fixture(params=["jwt", "api-key"])
def as_tenant(request, tenant) -> dict[str, str]:
    """The tenant's own credentials, as a JWT or as its API key (sent through the ``anonymous`` client)."""
    if request.param == "jwt":
        return bearer(Role.TENANT, tenant_id=tenant["id"])
    return {"X-API-Key": tenant["key"]}


async def _set_status(client, tenant_id: str, status: str) -> None:
    response = await client.patch(f"/tenants/{tenant_id}", json={"status": status}, headers=ADMIN)
    assert response.status_code == 200, response.text


# 1. A suspended tenant keeps working through its JWTs ---------------------------------------------------


async def test_suspended_tenant_may_only_read_its_own_record(client, anonymous, tenant, as_tenant, prefix):
    await _set_status(client, tenant["id"], "suspended")
    base = f"{prefix}/{tenant['id']}"
    own = await anonymous.get(base, headers=as_tenant)
    assert own.status_code == 200 and own.json()["status"] == "suspended"
    for method, path, body in (
        ("PATCH", "", {"name": "Still here"}),
        ("POST", "/whatsapp", WHATSAPP),
        ("POST", "/api-keys", {"name": "escape"}),
        ("POST", "/whatsapp/signup-state", None),
        ("GET", "/credentials/genesys", None),
        ("GET", "/audit-log", None),
    ):
        response = await anonymous.request(method, base + path, json=body, headers=as_tenant)
        assert_envelope(response, 403, "TENANT_SUSPENDED")
    await _set_status(client, tenant["id"], "active")  # takes effect on the very next request
    assert (await anonymous.patch(base, json={"name": "Back"}, headers=as_tenant)).status_code == 200


async def test_deleted_tenant_principals_are_refused(client, anonymous, tenant, as_tenant, prefix):
    await _set_status(client, tenant["id"], "deleted")
    for path in ("", "/audit-log", "/api-keys"):
        response = await anonymous.get(f"{prefix}/{tenant['id']}{path}", headers=as_tenant)
        assert_envelope(response, 401, "UNAUTHORIZED")


async def test_a_jwt_for_a_tenant_that_never_existed_is_refused(client):
    response = await client.get("/tenants/t_0000000000000000", headers=bearer(Role.TENANT, "t_0000000000000000"))
    assert_envelope(response, 401, "UNAUTHORIZED")


# 2. A tenant can claim routing keys it does not own ----------------------------------------------------


async def test_tenant_credential_writes_never_move_routing_keys(client, anonymous, tenant, as_tenant, prefix):
    base = f"{prefix}/{tenant['id']}"
    stored = await anonymous.post(f"{base}/whatsapp", json=WHATSAPP, headers=as_tenant)
    assert stored.status_code == 200 and stored.json()["routingKeysNotBound"] == ["phoneNumberId"]
    put = await anonymous.put(f"{base}/genesys/credentials", json=GENESYS, headers=as_tenant)
    assert put.status_code == 200 and put.json()["routingKeysNotBound"] == ["genesysIntegrationId"]
    assert put.json()["tenant"]["genesysIntegrationId"] is None
    generic = {"type": "whatsapp", "credentials": WHATSAPP}
    assert (await anonymous.post(f"{base}/credentials", json=generic, headers=as_tenant)).json()["routingKeysNotBound"]
    own = (await anonymous.get(base, headers=as_tenant)).json()
    assert own["phoneNumberId"] is None and own["genesysIntegrationId"] is None
    assert own["genesysRegion"] == "mypurecloud.com"  # not a routing key: stored as sent
    assert_envelope(await client.get(f"{prefix}/by-phone/15550007777", headers=ADMIN), 404, "NOT_FOUND")
    assert_envelope(await client.get(f"{prefix}/by-integration/intg-x", headers=ADMIN), 404, "NOT_FOUND")


async def test_admin_credential_writes_bind_routing_keys(client, tenant, prefix):
    base = f"{prefix}/{tenant['id']}"
    stored = await client.post(f"{base}/whatsapp", json=WHATSAPP)
    assert "routingKeysNotBound" not in stored.json()
    await client.put(f"{base}/genesys/credentials", json=GENESYS)
    assert (await client.get(f"{prefix}/by-phone/15550007777")).json()["id"] == tenant["id"]
    assert (await client.get(f"{prefix}/by-integration/intg-x")).json()["id"] == tenant["id"]


# 3. Mixed credential headers ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tenants/by-phone/1555", "/tenants"])
async def test_both_credential_headers_are_refused(client, tenant, path):
    await client.get("/tenants/by-phone/1555")  # the admin token is now verified: the fast lane could answer
    response = await client.get(path, headers={"X-API-Key": tenant["key"]})  # plus the client's admin bearer
    body = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert "send one credential" in body["error"]


async def test_x_api_key_takes_only_api_keys(anonymous):
    token = ADMIN["Authorization"].removeprefix("Bearer ")
    assert_envelope(await anonymous.get("/tenants", headers={"X-API-Key": token}), 401, "UNAUTHORIZED")


# 5. Authenticated 500s that must be 400 ----------------------------------------------------------------


async def test_nul_in_bodies_and_paths_is_a_400(client, tenant, prefix):
    body = assert_envelope(await client.post("/tenants", json=create_body(name="a\x00b")), 400, "VALIDATION_ERROR")
    assert body["details"][0]["field"] == "name"
    patch = {"metadata": {"nested": ["ok", {"deep": "x\x00"}]}}
    body = assert_envelope(await client.patch(f"/tenants/{tenant['id']}", json=patch), 400, "VALIDATION_ERROR")
    assert body["details"][0]["field"] == "metadata.nested[1].deep"
    for path in (f"{prefix}/t_0%00", f"{prefix}/by-phone/15%0055", f"{prefix}/{tenant['id']}/credentials/gen%00"):
        assert_envelope(await client.get(path), 400, "VALIDATION_ERROR")
    assert_envelope(await client.get(f"{prefix}?q=a%00b"), 400, "VALIDATION_ERROR")


async def test_huge_offsets_are_a_400(client, tenant, prefix):
    for path in (prefix, f"{prefix}/{tenant['id']}/audit-log"):
        body = assert_envelope(await client.get(f"{path}?offset=99999999999999999999"), 400, "VALIDATION_ERROR")
        assert body["details"][0]["field"] == "offset"


async def test_if_match_with_non_ascii_digits_is_a_400(client, tenant):
    headers = {"If-Match": '"²"'.encode()}
    response = await client.patch(f"/tenants/{tenant['id']}", json={"name": "x"}, headers=headers)
    assert_envelope(response, 400, "VALIDATION_ERROR")


# 8. JWT policy ---------------------------------------------------------------------------------------------


def _token(**claims) -> dict[str, str]:
    now = int(time.time())
    payload = {"sub": "probe", "role": "admin", "iat": now, "exp": now + 60, **claims}
    return {"Authorization": "Bearer " + jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS256")}


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": str(int(time.time()) + 60)},  # a string
        {"exp": time.time() + 60.5},  # a float
        {"exp": int(time.time()) + 31 * 24 * 3600},  # past the 30-day lifetime cap
        {"exp": int(time.time()) - 10},  # expired 10 s ago: past the 5 s leeway
    ],
    ids=["string-exp", "float-exp", "over-cap", "expired-past-leeway"],
)
async def test_tokens_outside_the_policy_are_refused(client, claims):
    assert_envelope(await client.get("/tenants", headers=_token(**claims)), 401, "UNAUTHORIZED")


async def test_issuer_and_audience_are_checked_when_configured(postgres_url, redis_server, clean_postgres):
    from litestar.testing import AsyncTestClient

    app = app_for(postgres_url, redis_server.url, jwt_issuer="tenant-service", jwt_audience="platform")
    async with AsyncTestClient(app, raise_server_exceptions=False) as strict:
        assert (await strict.get("/tenants", headers=_token(iss="tenant-service", aud="platform"))).status_code == 200
        for claims in ({}, {"iss": "someone-else", "aud": "platform"}, {"iss": "tenant-service", "aud": "other"}):
            assert_envelope(await strict.get("/tenants", headers=_token(**claims)), 401, "UNAUTHORIZED")


# 9. Look-alike e-mails ---------------------------------------------------------------------------------------


async def test_look_alike_emails_do_not_make_separate_tenants(client):
    first = await client.post("/tenants", json={"name": "A", "email": "admin@acorp.com"})
    assert first.status_code == 201
    fullwidth_domain = await client.post("/tenants", json={"name": "B", "email": "admin@ａcorp.com"})
    assert_envelope(fullwidth_domain, 409, "CONFLICT")  # NFKC: the same mailbox
    for hidden in ("ａdmin@acorp.com", "ad\u200bmin@acorp.com", "a\u0307dmin@acorp.com", "admin\u00ad@acorp.com"):
        body = assert_envelope(
            await client.post("/tenants", json={"name": "C", "email": hidden}), 400, "VALIDATION_ERROR"
        )
        assert body["details"][0]["field"] == "email"
    unicode_domain = await client.post("/tenants", json={"name": "D", "email": "ops@bücher.de"})
    assert unicode_domain.json()["tenant"]["email"] == "ops@xn--bcher-kva.de"
    assert_envelope(await client.post("/tenants", json={"name": "E", "email": "ops@XN--BCHER-KVA.de"}), 409, "CONFLICT")


# 10. CORS preflight refusals in the envelope ---------------------------------------------------------------


async def test_disallowed_cors_preflight_answers_the_envelope(postgres_url, redis_server):
    from litestar.testing import AsyncTestClient

    app = app_for(postgres_url, redis_server.url, allowed_origins=("https://portal.example",))
    async with AsyncTestClient(app, raise_server_exceptions=False) as browser:
        preflight = {"Access-Control-Request-Method": "GET"}
        refused = await browser.options("/tenants", headers={**preflight, "Origin": "https://evil.example"})
        assert refused.headers["content-type"] == "application/json"
        assert_envelope(refused, 403, "FORBIDDEN")
        allowed = await browser.options("/tenants", headers={**preflight, "Origin": "https://portal.example"})
        assert allowed.status_code in (200, 204)
        assert allowed.headers["access-control-allow-origin"] == "https://portal.example"
