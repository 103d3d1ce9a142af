"""Contract section "Tenants" over HTTP on real Postgres and Redis."""

from __future__ import annotations

import re

import pytest

from tests.support.builders import create_body


async def create(client, prefix="/tenants", **fields):
    response = await client.post(prefix, json=create_body(**fields))
    assert response.status_code == 201, response.text
    return response.json()["tenant"]


def assert_envelope(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in response.text
    return body


async def test_create_returns_tenant_message_and_location(client, prefix):
    response = await client.post(prefix, json=create_body(name="Acme Corp", id="t_client", tenantId="nope"))
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Tenant created successfully"
    tenant = body["tenant"]
    assert re.fullmatch(r"t_[0-9a-f]{16}", tenant["id"])
    assert response.headers["location"] == f"/tenants/{tenant['id']}"
    assert tenant["name"] == "Acme Corp" and tenant["settings"] == {} and tenant["metadata"] == {}
    assert tenant["domain"] is None and tenant["version"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", tenant["createdAt"])


async def test_get_sends_etag_and_unknown_is_404(client, prefix):
    tenant = await create(client, prefix)
    response = await client.get(f"{prefix}/{tenant['id']}")
    assert response.status_code == 200 and response.json() == tenant
    assert response.headers["etag"] == '"1"'
    assert_envelope(await client.get(f"{prefix}/t_0000000000000000"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "email"),
        ({"email": "a@b.com"}, "name"),
        ({"name": 5, "email": "a@b.com"}, "name"),
        ({"name": "x", "email": "invalid"}, "email"),
        ({"name": "x", "email": "a@b.com", "bogus": 1}, "bogus"),
        ({"name": "x", "email": "a@b.com", "settings": {"timezone": "Nowhere/City"}}, "settings.timezone"),
        ({"name": "x", "email": "a@b.com", "settings": {"colour": "red"}}, "settings.colour"),
        ({"name": "x", "email": "a@b.com", "rateLimit": 0}, "rateLimit"),
        ({"name": "x", "email": "a@b.com", "plan": "gold"}, "plan"),
        ({"name": "x", "email": "a@b.com", "subdomain": "UPPER"}, "subdomain"),
    ],
)
async def test_create_validation_errors_name_the_field_and_store_nothing(client, body, field):
    body_json = assert_envelope(await client.post("/tenants", json=body), 400, "VALIDATION_ERROR")
    assert field in [d["field"] for d in body_json["details"]]
    assert (await client.get("/tenants")).json()["total"] == 0


async def test_non_json_and_non_object_bodies_are_400(client):
    for content in (b"not json", b"[1,2]", b'"text"', b""):
        response = await client.post("/tenants", content=content, headers={"content-type": "application/json"})
        assert_envelope(response, 400, "VALIDATION_ERROR")
    assert (await client.get("/tenants")).json()["total"] == 0


async def test_oversized_body_is_413(client):
    body = create_body(metadata={"blob": "x" * (1024 * 1024)})
    assert_envelope(await client.post("/tenants", json=body), 413, "PAYLOAD_TOO_LARGE")
    assert (await client.get("/tenants")).json()["total"] == 0


async def test_duplicate_unique_field_is_409(client, prefix):
    await create(client, prefix, email="ops@acme.com", domain="acme.com")
    response = await client.post(prefix, json=create_body(domain="ACME.com"))
    assert "domain" in assert_envelope(response, 409, "CONFLICT")["error"]


async def test_idempotency_key_repeats_the_first_response(client):
    body = create_body()
    first = await client.post("/tenants", json=body, headers={"Idempotency-Key": "abc"})
    second = await client.post("/tenants", json=body, headers={"Idempotency-Key": "abc"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()  # the first response, API key included
    assert (await client.get("/tenants")).json()["total"] == 1
    other = await client.post("/tenants", json=create_body(), headers={"Idempotency-Key": "abc"})
    assert_envelope(other, 409, "CONFLICT")


async def test_list_paginates_filters_and_validates(client, prefix):
    for name in ("Alpha", "Beta", "Gamma"):
        await create(client, prefix, name=name)
    body = (await client.get(prefix, params={"limit": 2})).json()
    assert [t["name"] for t in body["tenants"]] == ["Gamma", "Beta"]
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 0)
    assert (await client.get(prefix, params={"limit": 1000})).json()["limit"] == 100
    assert [t["name"] for t in (await client.get(prefix, params={"q": "ALP"})).json()["tenants"]] == ["Alpha"]
    assert (await client.get(prefix, params={"status": "suspended"})).json()["total"] == 0
    for params in ({"limit": 0}, {"offset": -1}, {"limit": "ten"}, {"status": "gone"}):
        assert_envelope(await client.get(prefix, params=params), 400, "VALIDATION_ERROR")


async def test_patch_updates_with_version_and_if_match(client, prefix):
    tenant = await create(client, prefix)
    url = f"{prefix}/{tenant['id']}"
    response = await client.patch(
        url, json={"name": "Renamed", "settings": {"language": "pt-BR"}}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Tenant updated successfully"
    assert body["tenant"]["name"] == "Renamed" and body["tenant"]["version"] == 2
    assert response.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"name": "Late"}, headers={"If-Match": '"1"'})
    assert_envelope(stale, 412, "PRECONDITION_FAILED")
    assert (await client.get(url)).json()["name"] == "Renamed"


@pytest.mark.parametrize("body", [{}, {"unknown": 1}, {"name": None}, {"email": "x"}, {"rateLimit": "many"}])
async def test_patch_bad_bodies_are_400(client, body):
    tenant = await create(client)
    assert_envelope(await client.patch(f"/tenants/{tenant['id']}", json=body), 400, "VALIDATION_ERROR")
    assert (await client.get(f"/tenants/{tenant['id']}")).json()["version"] == 1


async def test_patch_deleted_is_terminal_and_unknown_is_404(client):
    tenant = await create(client)
    url = f"/tenants/{tenant['id']}"
    assert (await client.patch(url, json={"status": "deleted"})).status_code == 200
    assert_envelope(await client.patch(url, json={"status": "active"}), 409, "CONFLICT")
    assert_envelope(await client.patch("/tenants/t_0000000000000000", json={"name": "x"}), 404, "NOT_FOUND")


async def test_patch_to_a_taken_value_is_409_and_changes_nothing(client):
    await create(client, email="taken@x.com")
    mine = await create(client)
    response = await client.patch(f"/tenants/{mine['id']}", json={"email": "TAKEN@x.com", "name": "Changed"})
    assert_envelope(response, 409, "CONFLICT")
    assert (await client.get(f"/tenants/{mine['id']}")).json()["name"] == mine["name"]


async def test_delete_removes_the_tenant(client, prefix):
    tenant = await create(client, prefix, phoneNumberId="4455")
    response = await client.delete(f"{prefix}/{tenant['id']}")
    assert response.status_code == 200 and response.json() == {"message": "Tenant deleted successfully"}
    assert_envelope(await client.get(f"{prefix}/{tenant['id']}"), 404, "NOT_FOUND")
    assert_envelope(await client.get(f"{prefix}/by-phone/4455"), 404, "NOT_FOUND")
    assert_envelope(await client.delete(f"{prefix}/{tenant['id']}"), 404, "NOT_FOUND")


async def test_complete_onboarding(client, prefix):
    tenant = await create(client, prefix)
    url = f"{prefix}/{tenant['id']}/complete-onboarding"
    response = await client.post(url, json={"whatsappConfigured": True})
    assert response.status_code == 200
    assert response.json()["message"] == "Onboarding completed successfully"
    assert response.json()["tenant"]["onboardingCompleted"] is True
    again = await client.post(url, json={"whatsappConfigured": False})
    assert again.json()["tenant"]["whatsappConfigured"] is True
    assert (await client.post(f"{prefix}/{tenant['id']}/complete-onboarding")).status_code == 200
    assert_envelope(await client.post(url, json={"whatsappConfigured": "yes"}), 400, "VALIDATION_ERROR")
    assert_envelope(await client.post(f"{prefix}/t_0000000000000000/complete-onboarding", json={}), 404, "NOT_FOUND")


async def test_provision_genesys_creates_then_finds(client, prefix):
    body = {"genesysOrgId": "org-1", "genesysOrgName": "Org One", "genesysRegion": "mypurecloud.com"}
    first = await client.post(f"{prefix}/provision/genesys", json=body)
    assert first.status_code == 201
    assert first.json()["isNew"] is True and first.json()["tenantName"] == "Org One"
    assert first.json()["onboardingCompleted"] is False
    second = await client.post(f"{prefix}/provision/genesys", json=body)
    assert second.status_code == 200 and second.json()["tenantId"] == first.json()["tenantId"]
    assert second.json()["isNew"] is False
    missing = await client.post(f"{prefix}/provision/genesys", json={"genesysOrgId": "org-2"})
    assert_envelope(missing, 400, "VALIDATION_ERROR")


async def test_cursor_paging_under_concurrent_inserts_repeats_and_skips_nothing(client, prefix):
    """Walk every page by ``next`` while new tenants arrive: each tenant that existed is seen exactly once."""
    existing = {(await create(client, prefix))["id"] for _ in range(23)}
    seen: list[str] = []
    url = f"{prefix}?limit=5"
    while url:
        page = (await client.get(url)).json()
        seen += [t["id"] for t in page["tenants"]]
        await create(client, prefix)  # a newer tenant: it sorts before the cursor, so this walk never meets it
        url = f"{prefix}?limit=5&after={page['next']}" if page["next"] else None
    assert len(seen) == len(set(seen)) == len(existing) and set(seen) == existing
    assert_envelope(await client.get(f"{prefix}?after=not-a-cursor"), 400, "VALIDATION_ERROR")
    assert_envelope(await client.get(f"{prefix}?offset=5&after={page['next'] or 'x'}"), 400, "VALIDATION_ERROR")
