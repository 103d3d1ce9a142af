"""Access lines name the caller, the client, the path and route, the correlation id and, for a 401 or 403,
why; the response stays generic. Read from the real app's stderr, as an operator's log shipper would."""

from __future__ import annotations

import json
import sys

import pytest

from tenant_core import Role
from tests.api.conftest import bearer
from tests.support.builders import create_body


def access_lines(capfd: pytest.CaptureFixture[str]) -> list[dict]:
    """The JSON access lines written so far (the output goes back to stderr for the leak check)."""
    err = capfd.readouterr().err
    sys.stderr.write(err)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line["msg"] == "request"]


def line_of(capfd: pytest.CaptureFixture[str], correlation_id: str) -> dict:
    (line,) = [line for line in access_lines(capfd) if line["correlationId"] == correlation_id]
    return line


async def _tenant(client) -> tuple[str, str, str]:
    """A new tenant: its id, its first API key's secret and id."""
    created = (await client.post("/tenants", json=create_body())).json()
    tenant_id = created["tenant"]["id"]
    keys = (await client.get(f"/tenants/{tenant_id}/api-keys")).json()["apiKeys"]
    return tenant_id, created["apiKey"], keys[0]["id"]


async def test_a_suspended_tenants_403_names_its_subject_and_the_reason(client, anonymous, capfd):
    tenant_id, secret, key_id = await _tenant(client)
    assert (await client.patch(f"/tenants/{tenant_id}", json={"status": "suspended"})).status_code == 200
    refused = await anonymous.patch(
        f"/tenants/{tenant_id}", json={"name": "Still me"}, headers={"X-API-Key": secret, "X-Request-ID": "susp-1"}
    )
    assert refused.status_code == 403 and "reason" not in refused.json()
    line = line_of(capfd, "susp-1")
    assert (line["status"], line["reason"]) == (403, "suspended")
    assert (line["subject"], line["role"], line["tenantId"]) == (key_id, "tenant", tenant_id)
    assert line["path"] == f"/tenants/{tenant_id}" and line["route"] == "/tenants/{tenant_id}"


async def test_a_403_says_wrong_role_or_other_tenant(client, anonymous, capfd):
    tenant_id, _, _ = await _tenant(client)
    other_id, _, _ = await _tenant(client)
    service = {**bearer(Role.SERVICE, subject="billing-svc"), "X-Request-ID": "role-1"}
    assert (await anonymous.post("/tenants", json=create_body(), headers=service)).status_code == 403
    own = {**bearer(Role.TENANT, tenant_id=tenant_id, subject="portal-user"), "X-Request-ID": "other-1"}
    assert (await anonymous.get(f"/tenants/{other_id}", headers=own)).status_code == 403
    role_line = line_of(capfd, "role-1")
    assert (role_line["reason"], role_line["subject"], role_line["role"]) == ("wrong_role", "billing-svc", "service")
    other_line = line_of(capfd, "other-1")
    assert (other_line["reason"], other_line["subject"], other_line["tenantId"]) == (
        "other_tenant",
        "portal-user",
        tenant_id,  # the caller's tenant; the path shows the one it asked for
    )
    assert other_line["path"] == f"/tenants/{other_id}"


async def test_401_lines_say_expired_revoked_unknown_or_missing(client, anonymous, capfd):
    tenant_id, secret, key_id = await _tenant(client)
    expired = bearer(Role.SERVICE, subject="whatsapp-api", ttl=-60)
    answers = {"exp-1": await anonymous.get("/tenants", headers={**expired, "X-Request-ID": "exp-1"})}
    assert (await anonymous.get(f"/tenants/{tenant_id}", headers={"X-API-Key": secret})).status_code == 200
    assert (await client.delete(f"/tenants/{tenant_id}/api-keys/{key_id}")).status_code == 200
    for request_id, headers in (
        ("revoked-1", {"X-API-Key": secret}),
        ("unknown-1", {"X-API-Key": "sk_" + "0" * 64}),
        ("missing-1", {}),
    ):
        headers = {**headers, "X-Request-ID": request_id}
        answers[request_id] = await anonymous.get(f"/tenants/{tenant_id}", headers=headers)
    assert {answer.status_code for answer in answers.values()} == {401}
    # The caller learns nothing about why: the same generic body whatever the reason.
    generic = {"error": "Invalid API key", "code": "UNAUTHORIZED"}
    assert answers["revoked-1"].json() == answers["unknown-1"].json() == generic
    lines = {request_id: line_of(capfd, request_id) for request_id in answers}
    assert (lines["exp-1"]["reason"], lines["exp-1"]["subject"], lines["exp-1"]["role"]) == (
        "expired",
        "whatsapp-api",
        "service",
    )
    revoked = lines["revoked-1"]
    assert (revoked["reason"], revoked["subject"], revoked["tenantId"]) == ("revoked", key_id, tenant_id)
    assert lines["unknown-1"]["reason"] == "unknown_key" and "subject" not in lines["unknown-1"]
    assert lines["missing-1"]["reason"] == "missing_credentials"
    assert all(line["status"] == 401 for line in lines.values())


async def test_lines_carry_correlation_id_client_path_and_route(client, capfd):
    tenant_id, _, _ = await _tenant(client)
    asked = await client.get(
        f"/api/tenants/{tenant_id}?fields=ignored",
        headers={"X-Request-ID": "corr-42", "X-Forwarded-For": "203.0.113.7"},
    )
    assert asked.headers["x-request-id"] == "corr-42"
    line = line_of(capfd, "corr-42")
    assert line["service"] == "tenant-service" and line["clientIp"] == "testclient"
    assert line["forwardedFor"] == "203.0.113.7"
    assert (line["method"], line["path"], line["route"]) == (
        "GET",
        f"/api/tenants/{tenant_id}",  # the path as sent, without its query string
        "/api/tenants/{tenant_id}",
    )
    # An admin acting on a tenant: the line names the tenant it acted on.
    assert (line["subject"], line["role"], line["tenantId"]) == ("test-admin", "admin", tenant_id)
    assert "reason" not in line and line["durationMs"] >= 0 and isinstance(line["pid"], int)


async def test_unknown_paths_and_generated_ids_are_logged_as_sent(client, anonymous, capfd):
    unknown = await anonymous.get("/no/such/path%0Aforged", headers={"X-Request-ID": "corr-404"})
    assert unknown.status_code == 404 and unknown.headers["x-request-id"] == "corr-404"
    generated = await anonymous.get("/health/live")
    lines = access_lines(capfd)
    (line,) = [line for line in lines if line["correlationId"] == "corr-404"]
    assert (line["path"], line["route"], line["status"]) == ("/no/such/path%0Aforged", "unmatched", 404)
    assert "subject" not in line  # nobody was authenticated
    (live,) = [line for line in lines if line["path"] == "/health/live"]
    assert live["correlationId"] == generated.headers["x-request-id"]


async def test_both_lanes_name_the_resolving_service(client, anonymous, capfd):
    """A cache-hot lookup answered by the fast lane logs the same caller fields as the normal route."""
    await client.post("/tenants", json=create_body(phoneNumberId="7001"))
    service = bearer(Role.SERVICE, subject="whatsapp-webhook")
    for n in range(2):  # the first verifies the token and warms the cache; the second may take the fast lane
        found = await anonymous.get("/tenants/by-phone/7001", headers={**service, "X-Request-ID": f"lane-{n}"})
        assert found.status_code == 200
    lines = [line for line in access_lines(capfd) if line["correlationId"].startswith("lane-")]
    assert len(lines) == 2
    for line in lines:
        assert (line["subject"], line["role"], line["route"]) == (
            "whatsapp-webhook",
            "service",
            "/tenants/by-phone/{phone_number_id}",
        )
        assert line["path"] == "/tenants/by-phone/7001" and line["clientIp"] == "testclient"


async def test_a_401_never_says_which_claim_was_wrong_or_that_the_tenant_is_gone(client, anonymous, capfd):
    """A signed token with a lifetime over the maximum, no valid role, no tenant_id or a fractional exp was told
    so ("Token lifetime exceeds the allowed maximum", "Token has no valid role", ...), and a genuine key or token
    of a deleted tenant was told "The tenant of these credentials no longer exists". Each now gets the generic
    answer of its kind of credential; the line keeps the reason."""
    import time

    import jwt

    from tests.api.conftest import TEST_JWT_SECRET

    tenant_id, secret, _ = await _tenant(client)
    assert (await client.patch(f"/tenants/{tenant_id}", json={"status": "deleted"})).status_code == 200
    now = int(time.time())
    base = {"sub": "billing", "role": "service", "iat": now, "exp": now + 60}
    tokens = {
        "too_long_lived": {"exp": now + 90 * 86400},
        "invalid_claims": {"role": "root"},
        "invalid_claims_2": {"role": "tenant"},
        "invalid_claims_3": {"exp": now + 60.5},
        "tenant_deleted": {"role": "tenant", "tenant_id": tenant_id},
    }
    answers = {}
    for name, claims in tokens.items():
        token = jwt.encode({**base, **claims}, TEST_JWT_SECRET, algorithm="HS256")
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": name}
        answers[name] = await anonymous.get("/tenants/by-phone/1", headers=headers)
    for name, answer in answers.items():
        assert answer.json() == {"error": "Invalid or expired token", "code": "UNAUTHORIZED"}, name
    key = await anonymous.get(f"/tenants/{tenant_id}", headers={"X-API-Key": secret, "X-Request-ID": "key-gone"})
    assert key.json() == {"error": "Invalid API key", "code": "UNAUTHORIZED"}
    lines = {line["correlationId"]: line for line in access_lines(capfd)}
    assert {name: lines[name]["reason"] for name in answers} == {name: name.rstrip("_23") for name in answers}
    assert lines["key-gone"]["reason"] == "tenant_deleted"
