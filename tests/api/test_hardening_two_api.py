"""The second attacker's review, each finding as the request that showed it (each failed before its fix)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.test_tenants_api import assert_envelope
from tests.support.builders import create_body


def _cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).rstrip(b"=").decode()


# Items 4-6: cursors naming positions no column can hold -----------------------------------------------


async def test_an_events_cursor_past_64_bits_is_a_400(client):
    """GET /events?after=9223372036854775808 was an asyncpg DataError (500)."""
    response = await client.get("/events", params={"after": "9223372036854775808"})
    assert_envelope(response, 400, "VALIDATION_ERROR")
    assert (await client.get("/events", params={"after": "9223372036854775807"})).status_code == 200


async def test_an_audit_cursor_past_64_bits_is_a_400(client, prefix):
    """An audit-log cursor of [9223372036854775808] was a 500."""
    tenant_id = (await client.post("/tenants", json=create_body())).json()["tenant"]["id"]
    for position in (2**63, -(2**63) - 1):
        response = await client.get(f"{prefix}/{tenant_id}/audit-log", params={"after": _cursor(position)})
        assert_envelope(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "position",
    [
        ["0001-01-01T00:00:00+23:59", "x"],  # UTC time before year 1: an OverflowError in the driver
        ["9999-12-31T23:59:59-23:59", "x"],  # after year 9999
        ["2026-01-01T00:00:00+00:00", "t_\u0000"],  # NUL: no text column holds it
        ["2026-01-01T00:00:00+00:00", 5],
    ],
)
async def test_a_tenant_list_cursor_outside_the_calendar_is_a_400(client, prefix, position):
    """A tenant-list cursor whose time leaves the calendar in UTC was a 500."""
    response = await client.get(prefix, params={"after": _cursor(*position)})
    assert_envelope(response, 400, "VALIDATION_ERROR")


# Item 8: a trailing newline made a second routing key -------------------------------------------------


@pytest.mark.parametrize(
    ("field", "lookup"),
    [("genesysOrgId", "by-genesys-org"), ("phoneNumberId", "by-phone"), ("genesysIntegrationId", "by-integration")],
)
async def test_a_routing_key_with_a_trailing_newline_is_refused_everywhere(client, prefix, field, lookup):
    """{"genesysOrgId": "org\\n"} created a second tenant beside the holder of "org"; now it is a 400 on
    create, update and provisioning, and resolving "org%0A" is a 400 too (whitespace is refused, not stripped)."""
    holder = (await client.post(prefix, json=create_body(**{field: "org"}))).json()["tenant"]
    for value in ("org\n", " org", "org "):
        assert_envelope(await client.post(prefix, json=create_body(**{field: value})), 400, "VALIDATION_ERROR")
        patched = await client.patch(f"{prefix}/{holder['id']}", json={field: value})
        assert_envelope(patched, 400, "VALIDATION_ERROR")
    assert_envelope(await client.get(f"{prefix}/{lookup}/org%0A"), 400, "VALIDATION_ERROR")
    assert_envelope(await client.get(f"{prefix}/{lookup}/%20org"), 400, "VALIDATION_ERROR")
    assert (await client.get(f"{prefix}/{lookup}/org")).json()["id"] == holder["id"]
    listed = (await client.get(prefix)).json()
    assert listed["total"] == 1


async def test_provisioning_refuses_an_org_id_with_a_trailing_newline(client, prefix):
    """Get-or-create by org id must not create a second tenant for "org\\n"."""
    body = {"genesysOrgId": "org", "genesysOrgName": "Org", "genesysRegion": "mypurecloud.com"}
    assert (await client.post(f"{prefix}/provision/genesys", json=body)).status_code == 201
    again = await client.post(f"{prefix}/provision/genesys", json={**body, "genesysOrgId": "org\n"})
    assert_envelope(again, 400, "VALIDATION_ERROR")
    assert (await client.get(prefix)).json()["total"] == 1


async def test_credentials_refuse_ids_with_a_trailing_newline(client, prefix):
    """The credential views bind routing keys too: their ids are matched whole."""
    tenant_id = (await client.post(prefix, json=create_body())).json()["tenant"]["id"]
    whatsapp = {"wabaId": "1020", "phoneNumberId": "2222\n", "accessToken": "EAAG-token"}
    assert_envelope(await client.post(f"{prefix}/{tenant_id}/whatsapp", json=whatsapp), 400, "VALIDATION_ERROR")
    genesys = {"clientId": "c", "clientSecret": "s", "region": "mypurecloud.com", "integrationId": "intg\n"}
    response = await client.put(f"{prefix}/{tenant_id}/genesys/credentials", json=genesys)
    assert_envelope(response, 400, "VALIDATION_ERROR")


# Items 7 and 12: webhook URLs the parser choked on, and addresses that hide loopback ---------------------

BROKEN_URLS = ["http://[::1/", "http://a]b/", "http://h:80:80/", "http://h:\uff18\uff10/", "http://a..b/"]


@pytest.mark.parametrize("url", [*BROKEN_URLS, "http://" + "a" * 64 + ".example/"])
async def test_webhook_urls_that_crashed_the_parser_are_400s(client, url):
    """Each of these was a 500 (urlsplit's ValueError, .port's ValueError, the IDNA codec's UnicodeError)."""
    created = await client.post("/webhooks", json={"url": url, "eventTypes": ["tenant.created"]})
    assert_envelope(created, 400, "VALIDATION_ERROR")
    hook = await client.post("/webhooks", json={"url": "http://127.0.0.1:9/h", "eventTypes": ["tenant.created"]})
    changed = await client.patch(f"/webhooks/{hook.json()['id']}", json={"url": url})
    assert_envelope(changed, 400, "VALIDATION_ERROR")


@pytest.fixture
async def strict_client(postgres_url, redis_server, clean_postgres, clean_redis):
    """The app as deployed: webhook URLs into private networks refused (WEBHOOK_ALLOW_PRIVATE unset)."""
    from litestar.testing import AsyncTestClient

    from tests.api.conftest import ADMIN, app_for

    async with AsyncTestClient(app_for(postgres_url, redis_server.url, webhook_allow_private=False)) as client:
        client.headers.update(ADMIN)
        yield client


@pytest.mark.parametrize(
    "host", ["[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[::ffff:7f00:1]", "192.0.0.8", "224.0.0.1"]
)
async def test_webhook_urls_on_addresses_that_embed_loopback_or_are_reserved_are_refused(strict_client, host):
    """IPv4-compatible, NAT64 and 6to4 forms of 127.0.0.1, the IPv4 dummy address and multicast were accepted."""
    response = await strict_client.post("/webhooks", json={"url": f"http://{host}/h", "eventTypes": ["tenant.created"]})
    body = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert body["details"][0]["field"] == "url" and "non-public" in body["details"][0]["message"]


# Item 11: an OPTIONS from a disallowed origin without Access-Control-Request-Method ---------------------


@pytest.mark.parametrize("preflight", [{}, {"Access-Control-Request-Method": "GET"}])
async def test_options_from_a_disallowed_origin_answers_the_envelope(postgres_url, redis_server, preflight):
    """With ALLOWED_ORIGINS set, OPTIONS /tenants from another origin was a 400 text/plain without
    Access-Control-Request-Method; with or without it, it is now the JSON envelope."""
    from litestar.testing import AsyncTestClient

    from tests.api.conftest import app_for

    app = app_for(postgres_url, redis_server.url, allowed_origins=("https://portal.example",))
    async with AsyncTestClient(app, raise_server_exceptions=False) as browser:
        refused = await browser.options("/tenants", headers={**preflight, "Origin": "https://evil.example"})
        assert refused.headers["content-type"] == "application/json"
        assert_envelope(refused, 403, "FORBIDDEN")
        allowed = await browser.options("/tenants", headers={**preflight, "Origin": "https://portal.example"})
        assert allowed.status_code in (200, 204)
        assert allowed.headers["access-control-allow-origin"] == "https://portal.example"


# Informational item 14: a tenant claiming or probing domains ----------------------------------------------


async def test_a_tenant_cannot_claim_or_probe_domains_but_may_send_its_own_back(client, anonymous):
    """A tenant PATCHing a domain got 409 when another tenant held it (an oracle) and could claim a free one
    (squatting). It may now only send its current domain back; changing it is a 403 whether or not it is taken."""
    from tenant_core import Role
    from tests.api.conftest import bearer

    holder = (await client.post("/tenants", json=create_body(domain="taken.example"))).json()["tenant"]
    mine = (await client.post("/tenants", json=create_body(domain="mine.example"))).json()["tenant"]
    own = bearer(Role.TENANT, tenant_id=mine["id"])
    taken = await anonymous.patch(f"/tenants/{mine['id']}", json={"domain": "taken.example"}, headers=own)
    free = await anonymous.patch(f"/tenants/{mine['id']}", json={"domain": "free.example"}, headers=own)
    assert_envelope(taken, 403, "FORBIDDEN")
    assert taken.json() == free.json()  # the same answer: nothing learned about taken.example
    same = await anonymous.patch(f"/tenants/{mine['id']}", json={"domain": "mine.example", "name": "M"}, headers=own)
    assert same.status_code == 200 and same.json()["tenant"]["name"] == "M"
    moved = await client.patch(f"/tenants/{mine['id']}", json={"domain": "free.example"})  # an admin may
    assert moved.json()["tenant"]["domain"] == "free.example"
    assert (await client.get(f"/tenants/{holder['id']}")).json()["domain"] == "taken.example"


# Informational item 15: a token minted for another service ------------------------------------------------


async def test_a_token_minted_for_another_audience_is_refused_without_jwt_audience(client, anonymous):
    """With JWT_AUDIENCE unset (the default), a token carrying aud: billing-service was accepted; tokens that
    name no audience (as the platform's services and the token command mint them) still work."""
    import time

    import jwt

    from tests.api.conftest import TEST_JWT_SECRET

    now = int(time.time())
    claims = {"sub": "billing", "role": "admin", "iat": now, "exp": now + 60}
    for audience, status in (("billing-service", 401), (["billing-service", "tenant-service"], 401), (None, 200)):
        token = jwt.encode({**claims, **({"aud": audience} if audience else {})}, TEST_JWT_SECRET, algorithm="HS256")
        response = await anonymous.get("/tenants", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status, (audience, response.text)


async def test_the_published_patterns_are_plain_ecma_while_the_server_matches_whole(client):
    """The OpenAPI document shows ECMA-262 patterns, where "$" is already the end of the string; the
    lookahead Python needs after it stays on the server (which refuses "org\\n", above)."""
    document = json.dumps((await client.get("/schema/openapi.json")).json())
    assert "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$" in document.replace("\\\\", "\\")
    assert "(?!" not in document
