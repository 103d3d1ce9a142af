"""The credential vault's rules on in-memory storage with the real AES-GCM cipher."""

from __future__ import annotations

import os

import pytest

from tenant_adapters.crypto import AesGcmCipher
from tenant_core import SYSTEM, ConflictError, ForbiddenError, NotFoundError, Principal, Role, ValidationFailedError
from tenant_core.credential_types import CredentialType, mask
from tenant_core.errors import CredentialsUnreadableError
from tenant_core.sealing import SealedValues
from tenant_core.use_cases.key_rotation import CredentialKeyRotation
from tenant_core.use_cases.vault import CredentialVault
from tests.support.builders import create_command

WHATSAPP = {"accessToken": "EAAG-token-1234567", "phoneNumberId": "1555", "wabaId": "waba-1", "verifyToken": "vt"}
GENESYS = {
    "clientId": "client",
    "clientSecret": "genesys-secret-9876",
    "region": "usw2.pure.cloud",
    "integrationId": "intg-7",
}


@pytest.fixture
def vault(storage, sealed, tenant_cache, clock, directory) -> CredentialVault:
    return CredentialVault(storage, sealed, tenant_cache, directory, clock)


async def new_tenant(tenants, **fields):
    return (await tenants.create(SYSTEM, create_command(**fields))).tenant


@pytest.mark.parametrize(("value", "shown"), [("abcdefgh", "****efgh"), ("1234567", "****"), ("", "****")])
def test_mask_shows_last_four_only_when_long_enough(value, shown):
    assert mask(value) == shown


async def test_store_view_reveal_round_trip(tenants, vault):
    tenant = await new_tenant(tenants)
    await vault.store(SYSTEM, tenant.id, CredentialType.WHATSAPP, WHATSAPP)
    view = await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)
    assert view.credentials["accessToken"] == "****4567" and view.credentials["verifyToken"] == "****"
    assert view.credentials["phoneNumberId"] == "1555"
    revealed = await vault.reveal(SYSTEM, tenant.id, CredentialType.WHATSAPP)
    assert revealed.credentials.access_token == WHATSAPP["accessToken"]


async def test_storing_whatsapp_sets_tenant_fields_and_resolution(tenants, vault, resolver):
    tenant = await new_tenant(tenants)
    changed = (await vault.store(SYSTEM, tenant.id, CredentialType.WHATSAPP, WHATSAPP)).tenant
    assert changed.phone_number_id == "1555" and changed.whatsapp_configured
    assert (await resolver.by_phone(SYSTEM, "1555")).id == tenant.id


async def test_storing_genesys_copies_region_and_integration(tenants, vault, resolver):
    tenant = await new_tenant(tenants)
    changed = (await vault.store(SYSTEM, tenant.id, CredentialType.GENESYS, GENESYS)).tenant
    assert changed.genesys_region == "usw2.pure.cloud" and changed.genesys_integration_id == "intg-7"
    assert (await resolver.by_integration(SYSTEM, "intg-7")).id == tenant.id


async def test_phone_number_of_another_tenant_conflicts_and_changes_nothing(tenants, vault):
    owner = await new_tenant(tenants)
    loser = await new_tenant(tenants)
    await vault.store(SYSTEM, owner.id, CredentialType.WHATSAPP, WHATSAPP)
    with pytest.raises(ConflictError):
        await vault.store(SYSTEM, loser.id, CredentialType.WHATSAPP, {**WHATSAPP, "accessToken": "other-token-xx"})
    assert await vault.view(SYSTEM, loser.id, CredentialType.WHATSAPP) is None
    assert (await tenants.get(SYSTEM, loser.id)).whatsapp_configured is False


async def test_deleting_whatsapp_releases_the_number(tenants, vault, resolver):
    tenant = await new_tenant(tenants)
    await vault.store(SYSTEM, tenant.id, CredentialType.WHATSAPP, WHATSAPP)
    changed = await vault.delete(SYSTEM, tenant.id, CredentialType.WHATSAPP)
    assert changed.phone_number_id is None and not changed.whatsapp_configured
    with pytest.raises(NotFoundError):
        await resolver.by_phone(SYSTEM, "1555")
    with pytest.raises(NotFoundError):
        await vault.delete(SYSTEM, tenant.id, CredentialType.WHATSAPP)


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        (CredentialType.GENESYS, {**GENESYS, "region": "example.com"}, "credentials.region"),
        (CredentialType.GENESYS, {**GENESYS, "extra": 1}, "credentials.extra"),
        (CredentialType.WHATSAPP, {"phoneNumberId": "1", "wabaId": "2"}, "credentials.accessToken"),
        (CredentialType.WHATSAPP, {**WHATSAPP, "accessToken": ""}, "credentials.accessToken"),
    ],
)
async def test_invalid_credentials_name_the_field(tenants, vault, kind, data, field):
    tenant = await new_tenant(tenants)
    with pytest.raises(ValidationFailedError) as caught:
        await vault.store(SYSTEM, tenant.id, kind, data)
    assert [d.field for d in caught.value.details] == [field]


async def test_reveal_needs_the_reveal_permission(tenants, vault):
    tenant = await new_tenant(tenants)
    await vault.store(SYSTEM, tenant.id, CredentialType.GENESYS, GENESYS)
    own = Principal(subject="key_1", role=Role.TENANT, tenant_id=tenant.id)
    assert (await vault.view(own, tenant.id, CredentialType.GENESYS)).credentials["clientSecret"] == "****9876"
    with pytest.raises(ForbiddenError):
        await vault.reveal(own, tenant.id, CredentialType.GENESYS)
    service = Principal(subject="router", role=Role.SERVICE)
    assert (await vault.reveal(service, tenant.id, CredentialType.GENESYS)).credentials.client_secret.endswith("9876")


async def test_ciphertext_moved_to_another_tenant_does_not_open(tenants, vault, storage):
    a, b = await new_tenant(tenants), await new_tenant(tenants)
    await vault.store(SYSTEM, a.id, CredentialType.GENESYS, GENESYS)
    await vault.store(SYSTEM, b.id, CredentialType.GENESYS, {**GENESYS, "integrationId": "intg-8"})
    sealed_a = await storage.credentials.get(a.id, CredentialType.GENESYS)
    sealed_b = await storage.credentials.get(b.id, CredentialType.GENESYS)
    async with storage.unit_of_work() as uow:  # an attacker with database access copies A's row over B's
        await uow.credentials.put(
            type(sealed_b)(b.id, sealed_b.type, sealed_a.key_id, sealed_a.ciphertext, sealed_b.updated_at)
        )
    with pytest.raises(CredentialsUnreadableError):
        await vault.reveal(SYSTEM, b.id, CredentialType.GENESYS)


async def test_rotation_reseals_under_the_new_key(tenants, storage, tenant_cache, directory, clock):
    key_a, key_b = os.urandom(32), os.urandom(32)
    old = CredentialVault(storage, SealedValues(AesGcmCipher({"a": key_a})), tenant_cache, directory, clock)
    ids = [(await new_tenant(tenants)).id for _ in range(5)]
    for n, tenant_id in enumerate(ids):
        await old.store(SYSTEM, tenant_id, CredentialType.GENESYS, {**GENESYS, "integrationId": f"intg-{n}"})
    both = SealedValues(AesGcmCipher({"b": key_b, "a": key_a}))
    rotation = CredentialKeyRotation(storage, both)
    assert await rotation.pending() == 5
    progress: list[int] = []
    report = await rotation.rotate(batch_size=2, on_progress=progress.append)
    assert report.kinds[0].resealed == 5 and report.remaining == 0 and progress == [2, 4, 5]
    only_b = CredentialVault(storage, SealedValues(AesGcmCipher({"b": key_b})), tenant_cache, directory, clock)
    for tenant_id in ids:
        assert (await only_b.reveal(SYSTEM, tenant_id, CredentialType.GENESYS)).credentials.client_id == "client"
    assert sum(k.resealed for k in (await rotation.rotate()).kinds) == 0  # rerunning is harmless


SERVICE = Principal(subject="genesys-api", role=Role.SERVICE)


async def _reveals(storage, tenant_id):
    events, _ = await storage.audit.list_for_tenant(tenant_id, 100, 0)
    return [e for e in events if e.action == "credentials.revealed"]


async def test_who_reads_secrets_in_clear_and_how_it_is_audited(tenants, vault, storage):
    """Services always (one audit row per window), admins when they ask (every time), tenants never."""
    tenant = await new_tenant(tenants)
    await vault.store(SYSTEM, tenant.id, CredentialType.GENESYS, GENESYS)
    for _ in range(3):
        read = await vault.read(SERVICE, tenant.id, CredentialType.GENESYS)
        assert read.clear and read.credentials["clientSecret"] == GENESYS["clientSecret"]
    assert len(await _reveals(storage, tenant.id)) == 1
    masked = await vault.read(SYSTEM, tenant.id, CredentialType.GENESYS)
    assert not masked.clear and masked.credentials["clientSecret"] == "****9876"
    for _ in range(2):
        assert (await vault.read(SYSTEM, tenant.id, CredentialType.GENESYS, reveal=True)).clear
    assert len(await _reveals(storage, tenant.id)) == 3
    own = Principal(subject="k", role=Role.TENANT, tenant_id=tenant.id)
    assert not (await vault.read(own, tenant.id, CredentialType.GENESYS)).clear
    with pytest.raises(ForbiddenError):
        await vault.read(own, tenant.id, CredentialType.GENESYS, reveal=True)


async def test_meta_credentials_prefer_the_tenants_own_app_secret(
    tenants, storage, sealed, tenant_cache, directory, clock
):
    vault = CredentialVault(storage, sealed, tenant_cache, directory, clock, meta_app_secret="platform-app-secret")
    tenant = await new_tenant(tenants)
    with pytest.raises(NotFoundError):
        await vault.meta(SERVICE, tenant.id)
    await vault.store(SYSTEM, tenant.id, CredentialType.WHATSAPP, WHATSAPP)
    assert (await vault.meta(SERVICE, tenant.id)).app_secret == "platform-app-secret"
    await vault.store(SYSTEM, tenant.id, CredentialType.WHATSAPP, {**WHATSAPP, "appSecret": "own-app-secret"})
    meta = await vault.meta(SERVICE, tenant.id)
    assert (meta.app_secret, meta.access_token, meta.waba_id) == ("own-app-secret", WHATSAPP["accessToken"], "waba-1")
    with pytest.raises(ForbiddenError):
        await vault.meta(Principal(subject="k", role=Role.TENANT, tenant_id=tenant.id), tenant.id)


async def test_a_tenant_stores_credentials_without_moving_routing_keys(tenants, vault, resolver):
    tenant = await new_tenant(tenants)
    own = Principal(subject="k", role=Role.TENANT, tenant_id=tenant.id)
    whatsapp = await vault.store(own, tenant.id, CredentialType.WHATSAPP, WHATSAPP)
    genesys = await vault.store(own, tenant.id, CredentialType.GENESYS, GENESYS)
    assert whatsapp.unbound == ["phoneNumberId"] and genesys.unbound == ["genesysIntegrationId"]
    assert genesys.tenant.phone_number_id is None and genesys.tenant.genesys_integration_id is None
    assert genesys.tenant.genesys_region == "usw2.pure.cloud"
    with pytest.raises(NotFoundError):
        await resolver.by_phone(SYSTEM, "1555")
    bound = await vault.store(SYSTEM, tenant.id, CredentialType.WHATSAPP, WHATSAPP)
    assert bound.unbound == [] and (await resolver.by_phone(SYSTEM, "1555")).id == tenant.id


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("aps1", "aps1.pure.cloud"), ("ap-south-1", "aps1.pure.cloud"), ("AP_SOUTH_1", "aps1.pure.cloud"),
     ("https://api.mypurecloud.ie/", "mypurecloud.ie"), ("aps1.mypurecloud.com", "aps1.pure.cloud"),
     ("login.usw2.pure.cloud", "usw2.pure.cloud")],
)  # fmt: skip
async def test_every_spelling_of_a_region_is_stored_as_its_host(tenants, vault, sent, stored):
    tenant = await new_tenant(tenants)
    outcome = await vault.store(SYSTEM, tenant.id, CredentialType.GENESYS, {**GENESYS, "region": sent})
    assert outcome.tenant.genesys_region == stored


async def test_legacy_names_are_stored_under_todays(tenants, vault):
    tenant = await new_tenant(tenants)
    legacy = {"clientId": "c", "clientSecret": "s-123456789", "region": "aps1", "openMsgSecret": "hook-1",
              "openMsgIntegrationId": "intg-legacy"}  # fmt: skip
    await vault.store(SYSTEM, tenant.id, CredentialType.GENESYS, legacy)
    stored = (await vault.reveal(SYSTEM, tenant.id, CredentialType.GENESYS)).credentials
    assert (stored.webhook_secret, stored.integration_id) == ("hook-1", "intg-legacy")
    with pytest.raises(ValidationFailedError):
        await vault.store(SYSTEM, tenant.id, CredentialType.GENESYS, {**legacy, "integrationId": "other"})
