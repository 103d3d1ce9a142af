"""Contract section "Resolution" over HTTP: correct answers, no stale cache after any write."""

from __future__ import annotations

from tests.api.test_tenants_api import assert_envelope, create


async def test_each_lookup_returns_tenant_with_tenant_id(client, prefix):
    tenant = await create(
        client, prefix, phoneNumberId="15550001234", genesysIntegrationId="intg-001", genesysOrgId="org-001"
    )
    for path in ("by-phone/15550001234", "by-integration/intg-001", "by-genesys-org/org-001"):
        response = await client.get(f"{prefix}/{path}")
        assert response.status_code == 200
        body = response.json()
        assert body["tenantId"] == body["id"] == tenant["id"]
        assert {k: v for k, v in body.items() if k != "tenantId"} == tenant
    for path in ("by-phone/999", "by-integration/none", "by-genesys-org/none"):
        assert_envelope(await client.get(f"{prefix}/{path}"), 404, "NOT_FOUND")


async def test_writes_are_visible_to_the_next_lookup(client, prefix):
    """Key change, suspension and deletion each show on the very next lookup (Redis cache in the path)."""
    tenant = await create(client, prefix, phoneNumberId="1000")
    url = f"{prefix}/{tenant['id']}"
    assert (await client.get(f"{prefix}/by-phone/1000")).status_code == 200
    assert (await client.get(f"{prefix}/by-phone/2000")).status_code == 404
    await client.patch(url, json={"phoneNumberId": "2000"})
    assert (await client.get(f"{prefix}/by-phone/1000")).status_code == 404
    assert (await client.get(f"{prefix}/by-phone/2000")).json()["id"] == tenant["id"]
    await client.patch(url, json={"status": "suspended"})
    locked = assert_envelope(await client.get(f"{prefix}/by-phone/2000"), 423, "TENANT_SUSPENDED")
    assert locked["details"] == {"tenantId": tenant["id"]}
    assert (await client.get(url)).json()["status"] == "suspended"  # the admin view still shows it
    await client.patch(url, json={"status": "active"})
    assert (await client.get(f"{prefix}/by-phone/2000")).json()["status"] == "active"
    await client.patch(url, json={"status": "suspended"})
    await client.patch(url, json={"status": "deleted"})
    assert (await client.get(f"{prefix}/by-phone/2000")).status_code == 404


async def test_deleted_tenant_releases_its_phone_number(client):
    first = await create(client, phoneNumberId="3000")
    await client.delete(f"/tenants/{first['id']}")
    second = await create(client, phoneNumberId="3000")
    assert (await client.get("/tenants/by-phone/3000")).json()["id"] == second["id"]
