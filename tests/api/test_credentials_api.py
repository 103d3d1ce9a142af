"""Contract sections "Credentials" and "WhatsApp" over HTTP on real Postgres."""

from __future__ import annotations

import pytest

from tenant_core import Role
from tests.api.conftest import bearer
from tests.api.test_tenants_api import assert_envelope, create

GENESYS = {
    "clientId": "genesys-client",
    "clientSecret": "gen-secret-ABCD1234",
    "region": "mypurecloud.de",
    "integrationId": "intg-77",
    "webhookSecret": "hook-secret-WXYZ9876",
}
WHATSAPP = {
    "wabaId": "waba-55",
    "phoneNumberId": "15550009999",
    "accessToken": "EAAG-access-token-QRST4321",
    "verifyToken": "verify-token-LMNO5678",
    "businessAccountId": "biz-1",
    "displayPhoneNumber": "+1 555 000 9999",
    "qualityRating": "GREEN",
}
SECRETS = [GENESYS["clientSecret"], GENESYS["webhookSecret"], WHATSAPP["accessToken"], WHATSAPP["verifyToken"]]
SERVICE = bearer(Role.SERVICE, subject="message-router")


@pytest.fixture
def stored_secrets(secrets_in_play):
    secrets_in_play.extend(SECRETS)  # none of these may reach a log line
    return SECRETS


async def test_database_never_holds_a_secret_in_clear(client, clean_postgres, stored_secrets):
    tenant = await create(client)
    for kind, body in (("genesys", GENESYS), ("whatsapp", WHATSAPP)):
        response = await client.post(f"/tenants/{tenant['id']}/credentials", json={"type": kind, "credentials": body})
        assert response.status_code == 200
        assert response.json() == {"success": True, "type": kind, "message": f"{kind} credentials stored successfully"}
    dump = ""
    for table in ("credentials", "tenants", "audit_log", "api_keys", "idempotency_keys"):
        rows = await clean_postgres.fetch(f"SELECT * FROM {table}")
        dump += repr([dict(r) for r in rows])
        for row in rows:
            for value in row.values():
                if isinstance(value, bytes | memoryview):
                    dump += bytes(value).decode("latin-1")
    assert "ciphertext" in repr(await clean_postgres.fetch("SELECT * FROM credentials"))
    for secret in stored_secrets:
        assert secret not in dump


@pytest.mark.parametrize(("kind", "body"), [("genesys", GENESYS), ("whatsapp", WHATSAPP)])
async def test_round_trip_masked_then_revealed_by_service(client, kind, body, stored_secrets):
    tenant = await create(client)
    await client.post(f"/tenants/{tenant['id']}/credentials", json={"type": kind, "credentials": body})
    masked = (await client.get(f"/tenants/{tenant['id']}/credentials/{kind}")).json()
    assert masked["type"] == kind and "updatedAt" in masked
    for field, value in body.items():
        shown = masked["credentials"][field]
        if value in stored_secrets:
            assert shown == "****" + value[-4:]
        else:
            assert shown == value
    revealed = await client.get(f"/tenants/{tenant['id']}/credentials/{kind}?reveal=true", headers=SERVICE)
    assert revealed.status_code == 200
    assert {k: v for k, v in revealed.json()["credentials"].items() if v is not None} == body


async def test_reveal_is_refused_to_tenants_and_audited_for_services(client, anonymous):
    created = (await client.post("/tenants", json={"name": "A", "email": "a@a.com"})).json()
    tenant_id, api_key = created["tenant"]["id"], created["apiKey"]
    await client.put(f"/tenants/{tenant_id}/genesys/credentials", json=GENESYS)
    url = f"/tenants/{tenant_id}/credentials/genesys?reveal=true"
    assert (await client.get(url, headers=bearer(Role.TENANT, tenant_id=tenant_id))).status_code == 403
    assert (await anonymous.get(url, headers={"X-API-Key": api_key})).status_code == 403
    assert (await anonymous.get(url)).status_code == 401
    assert (await client.get(url, headers=SERVICE)).status_code == 200
    assert (await client.get(url)).status_code == 200  # admin
    events = (await client.get(f"/tenants/{tenant_id}/audit-log")).json()["events"]
    reveals = [e for e in events if e["action"] == "credentials.revealed"]
    assert [e["actor"] for e in reveals] == ["test-admin", "message-router"]
    assert reveals[0]["changes"] == ["credentials.genesys"]


async def test_genesys_routes_copy_region_and_integration_and_mask(client, prefix):
    tenant = await create(client, prefix)
    response = await client.put(f"{prefix}/{tenant['id']}/genesys/credentials", json=GENESYS)
    assert response.status_code == 200
    assert response.json() == {
        "message": "Genesys credentials updated successfully",
        "tenant": {
            "id": tenant["id"],
            "name": tenant["name"],
            "genesysRegion": "mypurecloud.de",
            "genesysIntegrationId": "intg-77",
        },
    }
    view = (await client.get(f"{prefix}/{tenant['id']}/genesys/credentials")).json()
    assert view == {
        "configured": True,
        "clientId": "genesys-client",
        "clientSecret": "****1234",
        "region": "mypurecloud.de",
        "integrationId": "intg-77",
    }
    assert (await client.get(f"{prefix}/by-integration/intg-77")).json()["id"] == tenant["id"]
    missing_field = {k: v for k, v in GENESYS.items() if k != "integrationId"}
    assert_envelope(
        await client.put(f"{prefix}/{tenant['id']}/genesys/credentials", json=missing_field), 400, "VALIDATION_ERROR"
    )
    bad_region = {**GENESYS, "region": "purecloud.example"}
    body = assert_envelope(
        await client.put(f"{prefix}/{tenant['id']}/genesys/credentials", json=bad_region), 400, "VALIDATION_ERROR"
    )
    assert body["details"][0]["field"] == "region"


async def test_whatsapp_config_routes(client, prefix):
    tenant = await create(client, prefix)
    url = f"{prefix}/{tenant['id']}/whatsapp"
    assert (await client.get(url)).json() == {"configured": False}
    legacy = {**{k: v for k, v in WHATSAPP.items() if k != "businessAccountId"}, "businessId": "biz-legacy"}
    stored = await client.post(url, json=legacy)
    assert stored.status_code == 200
    config = stored.json()["config"]
    assert stored.json()["success"] is True
    assert config["configured"] is True and config["businessAccountId"] == "biz-legacy"
    assert config["accessToken"] == "****4321" and config["verifyToken"] == "****5678"
    assert config["phoneNumberId"] == "15550009999" and "updatedAt" in config
    assert (await client.get(url)).json() == config
    tenant_now = (await client.get(f"{prefix}/{tenant['id']}")).json()
    assert tenant_now["whatsappConfigured"] is True and tenant_now["phoneNumberId"] == "15550009999"
    assert (await client.get(f"{prefix}/by-phone/15550009999")).json()["id"] == tenant["id"]
    assert_envelope(await client.get(f"{prefix}/t_0000000000000000/whatsapp"), 404, "NOT_FOUND")
    for bad in ({**WHATSAPP, "extra": 1}, {"wabaId": "w"}, {**legacy, "businessAccountId": "other"}):
        assert_envelope(await client.post(url, json=bad), 400, "VALIDATION_ERROR")


async def test_new_number_moves_resolution_and_delete_releases_it(client):
    tenant = await create(client)
    url = f"/tenants/{tenant['id']}/whatsapp"
    await client.post(url, json=WHATSAPP)
    assert (await client.get("/tenants/by-phone/15550009999")).status_code == 200
    await client.post(url, json={**WHATSAPP, "phoneNumberId": "15550001111"})
    assert (await client.get("/tenants/by-phone/15550009999")).status_code == 404
    assert (await client.get("/tenants/by-phone/15550001111")).json()["id"] == tenant["id"]
    deleted = await client.delete(f"/tenants/{tenant['id']}/credentials/whatsapp")
    assert deleted.status_code == 200
    assert (await client.get("/tenants/by-phone/15550001111")).status_code == 404
    after = (await client.get(f"/tenants/{tenant['id']}")).json()
    assert after["whatsappConfigured"] is False and after["phoneNumberId"] is None
    assert (await client.get(url)).json() == {"configured": False}
    assert_envelope(await client.delete(f"/tenants/{tenant['id']}/credentials/whatsapp"), 404, "NOT_FOUND")


async def test_two_tenants_cannot_share_a_phone_number(client):
    owner, loser = await create(client), await create(client)
    await client.post(f"/tenants/{owner['id']}/whatsapp", json=WHATSAPP)
    response = await client.post(f"/tenants/{loser['id']}/whatsapp", json={**WHATSAPP, "wabaId": "waba-x"})
    assert_envelope(response, 409, "CONFLICT")
    assert (await client.get(f"/tenants/{loser['id']}/whatsapp")).json() == {"configured": False}
    assert (await client.get(f"/tenants/{loser['id']}")).json() == loser


async def test_credential_validation(client):
    tenant = await create(client)
    url = f"/tenants/{tenant['id']}/credentials"
    for body in (
        {"type": "slack", "credentials": {}},
        {"type": "genesys"},
        {"type": "genesys", "credentials": {}},
        {"type": "whatsapp", "credentials": {**WHATSAPP, "unknown": True}},
    ):
        assert_envelope(await client.post(url, json=body), 400, "VALIDATION_ERROR")
    assert_envelope(await client.get(f"{url}/slack"), 400, "VALIDATION_ERROR")
    assert_envelope(await client.get(f"{url}/genesys"), 404, "NOT_FOUND")


async def test_tampered_or_moved_ciphertext_is_a_clean_500(client, clean_postgres):
    a, b = await create(client), await create(client)
    await client.put(f"/tenants/{a['id']}/genesys/credentials", json=GENESYS)
    await client.put(f"/tenants/{b['id']}/genesys/credentials", json={**GENESYS, "integrationId": "intg-b"})
    await clean_postgres.execute(
        "UPDATE credentials SET ciphertext = (SELECT ciphertext FROM credentials WHERE tenant_id = $1) "
        "WHERE tenant_id = $2",
        a["id"],
        b["id"],
    )
    await clean_postgres.execute(
        "UPDATE credentials SET ciphertext = set_byte(ciphertext, 20, get_byte(ciphertext, 20) # 1) "
        "WHERE tenant_id = $1",
        a["id"],
    )
    for tenant in (a, b):
        response = await client.get(f"/tenants/{tenant['id']}/genesys/credentials")
        body = assert_envelope(response, 500, "INTERNAL_ERROR")
        assert body["error"] == "Stored credentials could not be decrypted"
        assert "details" not in body and "Tag" not in response.text


async def test_flat_form_follows_the_masking_rules_of_each_caller(client, stored_secrets):
    """Tenants never see secrets, admins only when they ask, services always: nested and flat alike."""
    created = (await client.post("/tenants", json={"name": "F", "email": "f@f.com"})).json()
    tenant_id = created["tenant"]["id"]
    await client.put(f"/tenants/{tenant_id}/genesys/credentials", json=GENESYS)
    url = f"/tenants/{tenant_id}/credentials/genesys"
    own = bearer(Role.TENANT, tenant_id=tenant_id)
    for headers in (own, {}):  # the tenant's JWT, and admin without ?reveal
        body = (await client.get(url, headers=headers)).json()
        assert body["clientSecret"] == body["credentials"]["clientSecret"] == "****1234"
        assert body["webhookSecret"] == body["credentials"]["webhookSecret"] == "****9876"
        assert body["clientId"] == "genesys-client" and body["region"] == "mypurecloud.de"
    assert (await client.get(url + "?reveal=true", headers=own)).status_code == 403
    assert (await client.get(f"/tenants/{tenant_id}/credentials/meta", headers=own)).status_code == 403
    revealed = (await client.get(url + "?reveal=true")).json()
    assert revealed["clientSecret"] == revealed["credentials"]["clientSecret"] == GENESYS["clientSecret"]
    as_service = (await client.get(url, headers=SERVICE)).json()
    assert as_service["clientSecret"] == GENESYS["clientSecret"]
    events = (await client.get(f"/tenants/{tenant_id}/audit-log")).json()["events"]
    assert [e["actor"] for e in events if e["action"] == "credentials.revealed"] == ["message-router", "test-admin"]


async def test_unknown_region_lists_the_valid_hosts(client):
    tenant = await create(client)
    body = assert_envelope(
        await client.put(f"/tenants/{tenant['id']}/genesys/credentials", json={**GENESYS, "region": "mars-1"}),
        400,
        "VALIDATION_ERROR",
    )
    assert body["details"][0]["field"] == "region" and "aps1.pure.cloud" in body["details"][0]["message"]
    for spelling in ("ap-south-1", "ap_south_1", "aps1", "https://api.aps1.pure.cloud/", "aps1.mypurecloud.com"):
        stored = await client.put(f"/tenants/{tenant['id']}/genesys/credentials", json={**GENESYS, "region": spelling})
        assert stored.json()["tenant"]["genesysRegion"] == "aps1.pure.cloud", spelling
