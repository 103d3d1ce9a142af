"""A third credential type, defined and registered by the tests only (tests/support/sms_gateway.py), goes
through the same code paths as the two the package ships: stored, masked, read, revealed, checked, listed,
imported and deleted, on memory and Postgres."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryCache, InMemoryGenesysCloud
from tenant_core import (
    SYSTEM,
    ConnectionChecks,
    CredentialVault,
    LegacyImport,
    LegacyTenant,
    Principal,
    Role,
    SealedValues,
    SystemClock,
    TenantCache,
    TenantDirectory,
    TenantResolver,
    TenantService,
    ValidationFailedError,
)
from tenant_core.credential_registry import CREDENTIAL_POLICIES
from tenant_core.legacy import LegacyCredentialRow, LegacyTenantRow
from tests.support.builders import create_command
from tests.support.sms_gateway import NAME, SENT, SmsGatewayCredentials, SmsGatewayPolicy


@pytest.fixture
def sms_gateway() -> Iterator[SmsGatewayPolicy]:
    """Registered for one test: the one line a real type adds to the registry."""
    policy = SmsGatewayPolicy()
    CREDENTIAL_POLICIES.register(policy)
    yield policy
    CREDENTIAL_POLICIES.unregister(NAME)


@pytest.fixture
def wired(storage):
    cache = TenantCache(InMemoryCache())
    directory = TenantDirectory(storage.tenants, cache)
    clock = SystemClock()
    sealed = SealedValues(AesGcmCipher({"k": os.urandom(32)}))
    vault = CredentialVault(storage, sealed, cache, directory, clock)
    checks = ConnectionChecks(storage, vault, directory, clock, InMemoryGenesysCloud(), None)
    tenants = TenantService(storage, cache, directory, clock, sealed=sealed)
    return tenants, vault, checks, TenantResolver(storage.tenants, cache), LegacyImport(storage, sealed, cache, clock)


async def test_a_registered_type_is_stored_masked_read_checked_and_deleted(sms_gateway, wired, storage):
    """Every step runs through the vault's, the checks' and the store's own code, with no change to them."""
    tenants, vault, checks, resolver, _ = wired
    tenant = (await tenants.create(SYSTEM, create_command())).tenant

    stored = await vault.store(SYSTEM, tenant.id, NAME, SENT)  # the legacy name is taken as apiKey
    assert stored.tenant.phone_number_id == "4400123" and stored.unbound == []
    assert (await resolver.by_phone(SYSTEM, "4400123")).id == tenant.id  # the routing key it carries is bound

    view = await vault.view(SYSTEM, tenant.id, NAME)
    assert view.credentials == {"apiKey": "****1234", "numberId": "4400123", "senderName": "Acme"}
    assert view.health is None  # this type has no token health
    assert (await vault.read(SYSTEM, tenant.id, NAME)).credentials["apiKey"] == "****1234"
    assert (await vault.read(SYSTEM, tenant.id, NAME, reveal=True)).credentials["apiKey"] == "gw-key-0000-1234"
    assert (await vault.reveal(SYSTEM, tenant.id, NAME)).credentials.api_key == "gw-key-0000-1234"
    record = await storage.credentials.get(tenant.id, NAME)
    assert record.type == NAME and b"gw-key" not in record.ciphertext  # sealed like every type

    report = await checks.verify(SYSTEM, tenant.id, NAME)
    assert report.ok and [c.name for c in report.checks] == ["key", "number"]
    assert (await vault.view(SYSTEM, tenant.id, NAME)).status.last_check == report  # kept with the credential
    assert [kind async for _, kind in checks.configured(tenant.id)] == [NAME]

    released = await vault.delete(SYSTEM, tenant.id, NAME)
    assert released.phone_number_id is None  # what deleting it releases
    assert await vault.view(SYSTEM, tenant.id, NAME) is None


async def test_a_registered_type_is_imported_from_the_old_service(sms_gateway, wired, storage):
    """The legacy import reads the old rows of a registered type through its policy: legacy names renamed,
    identifiers trimmed (secrets kept as they are), sealed, and the routing key it carries taken."""
    _, vault, _, resolver, importer = wired
    rows = [LegacyCredentialRow(source="sms#1", type=NAME, is_active=True, credentials={**SENT, "numberId": " 44 "})]
    legacy = LegacyTenant(row=LegacyTenantRow(tenant_id="t_sms", name="Acme"), credentials=rows)
    lines = await importer.import_one(legacy)
    outcomes = [(line.item, line.outcome) for line in lines]
    assert outcomes == [("tenant", "imported"), ("credentials.sms_gateway", "imported")]
    assert (await vault.reveal(SYSTEM, "t_sms", NAME)).credentials == SmsGatewayCredentials(
        api_key="gw-key-0000-1234", number_id="44", sender_name="Acme"
    )
    assert (await resolver.by_phone(SYSTEM, "44")).id == "t_sms"


async def test_a_registered_type_follows_the_shared_rules(sms_gateway, wired):
    """A tenant principal stores it without moving its routing key; a check's failure is refused when storing
    verified; its fields are validated with their names."""
    tenants, vault, checks, _, _ = wired
    tenant = (await tenants.create(SYSTEM, create_command())).tenant
    own = Principal("key-1", Role.TENANT, tenant.id)
    outcome = await vault.store(own, tenant.id, NAME, SENT)
    assert outcome.tenant.phone_number_id is None and outcome.unbound == ["phoneNumberId"]
    with pytest.raises(ValidationFailedError) as refused:
        await checks.store_verified(SYSTEM, tenant.id, NAME, {**SENT, "gatewayKey": "revoked-key-1"})
    assert refused.value.message == "SMS gateway credentials not stored: the key check failed"
    with pytest.raises(ValidationFailedError) as invalid:
        await vault.store(SYSTEM, tenant.id, NAME, {"apiKey": "k" * 8})
    assert invalid.value.details[0].field == "credentials.numberId"


async def test_an_unregistered_type_fails_loudly(wired):
    """Without its registration line, the same calls are refused with the types that exist."""
    tenants, vault, checks, _, _ = wired
    tenant = (await tenants.create(SYSTEM, create_command())).tenant
    for call in (
        lambda: vault.store(SYSTEM, tenant.id, NAME, SENT),
        lambda: vault.view(SYSTEM, tenant.id, NAME),
        lambda: vault.delete(SYSTEM, tenant.id, NAME),
        lambda: checks.verify(SYSTEM, tenant.id, NAME),
    ):
        with pytest.raises(ValidationFailedError) as refused:
            await call()
        assert refused.value.details[0].field == "type" and "genesys, whatsapp" in refused.value.message
