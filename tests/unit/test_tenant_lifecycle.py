"""Use cases of a tenant's life, on the in-memory adapters."""

from __future__ import annotations

import re

import pytest

from tenant_core import (
    SYSTEM,
    AuditTrail,
    CompleteOnboarding,
    ConflictError,
    CredentialType,
    CredentialVault,
    NotFoundError,
    PreconditionFailedError,
    ProvisionGenesys,
    Settings,
    TenantQuery,
    TenantStatus,
    UpdateTenant,
    ValidationFailedError,
)
from tenant_core.paging import encode_cursor
from tests.support.builders import create_command


async def test_create_generates_id_and_defaults(tenants):
    """The server picks a t_ + 16 hex id (ignoring any sent) and fills the documented defaults."""
    created = (await tenants.create(SYSTEM, create_command(id="t_mine", tenant_id="x"))).tenant
    assert re.fullmatch(r"t_[0-9a-f]{16}", created.id)
    assert created.status is TenantStatus.ACTIVE and created.plan.value == "standard"
    assert created.rate_limit == 100 and created.version == 1
    assert created.settings == Settings() and created.metadata == {}
    assert not created.whatsapp_configured and not created.onboarding_completed
    assert await tenants.get(SYSTEM, created.id) == created


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"rate_limit": 0}, "rateLimit"),
        ({"rate_limit": 100_001}, "rateLimit"),
        ({"subdomain": "Not A Slug"}, "subdomain"),
        ({"domain": "no spaces.com"}, "domain"),
        ({"settings": Settings(timezone="Mars/Olympus")}, "settings.timezone"),
        ({"settings": Settings(language="english!")}, "settings.language"),
        ({"phone_number_id": "has space"}, "phoneNumberId"),
    ],
)
async def test_create_refuses_bad_input_naming_the_field(tenants, storage, fields, bad_field):
    """Constraint and semantic failures raise ValidationFailedError naming the wire field; nothing is stored."""
    with pytest.raises(ValidationFailedError) as caught:
        await tenants.create(SYSTEM, create_command(**fields))
    assert [d.field for d in caught.value.details] == [bad_field]
    assert (await storage.tenants.list(TenantQuery()))[1] == 0


async def test_valid_settings_are_kept(tenants):
    settings = Settings(timezone="Europe/Lisbon", language="pt-BR")
    created = (await tenants.create(SYSTEM, create_command(settings=settings))).tenant
    assert created.settings.timezone == "Europe/Lisbon" and created.settings.language == "pt-BR"


async def test_duplicate_email_conflicts(tenants):
    await tenants.create(SYSTEM, create_command(email="ops@acme.com"))
    with pytest.raises(ConflictError) as caught:
        await tenants.create(SYSTEM, create_command(email="OPS@acme.com"))
    assert caught.value.field == "email"


async def test_idempotency_key_replays_the_first_tenant(tenants, storage):
    """Same key and body → the same tenant, created once; same key, other body → conflict."""
    command = create_command()
    first = await tenants.create(SYSTEM, command, idempotency_key="key-1")
    again = await tenants.create(SYSTEM, command, idempotency_key="key-1")
    assert again.tenant.id == first.tenant.id
    assert again.api_key == first.api_key and first.api_key.startswith("sk_")
    assert (await storage.tenants.list(TenantQuery()))[1] == 1
    with pytest.raises(ConflictError):
        await tenants.create(SYSTEM, create_command(), idempotency_key="key-1")


async def test_update_changes_only_sent_fields_and_bumps_version(tenants):
    created = (await tenants.create(SYSTEM, create_command(domain="acme.com"))).tenant
    updated = await tenants.update(SYSTEM, created.id, UpdateTenant(name="Renamed", domain=None))
    assert updated.name == "Renamed" and updated.domain is None
    assert updated.email == created.email and updated.version == created.version + 1


async def test_update_with_stale_version_fails_and_changes_nothing(tenants):
    created = (await tenants.create(SYSTEM, create_command())).tenant
    await tenants.update(SYSTEM, created.id, UpdateTenant(name="First"), expected_version=1)
    with pytest.raises(PreconditionFailedError):
        await tenants.update(SYSTEM, created.id, UpdateTenant(name="Second"), expected_version=1)
    assert (await tenants.get(SYSTEM, created.id)).name == "First"


async def test_update_needs_at_least_one_field(tenants):
    created = (await tenants.create(SYSTEM, create_command())).tenant
    with pytest.raises(ValidationFailedError):
        await tenants.update(SYSTEM, created.id, UpdateTenant())


async def test_update_of_unknown_tenant_is_not_found(tenants):
    with pytest.raises(NotFoundError):
        await tenants.update(SYSTEM, "t_0000000000000000", UpdateTenant(name="x"))


async def test_deleted_status_is_terminal(tenants):
    """PATCH status=deleted soft-deletes; after it every change is a conflict."""
    created = (await tenants.create(SYSTEM, create_command())).tenant
    await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.DELETED))
    with pytest.raises(ConflictError):
        await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.ACTIVE))


async def test_suspend_and_reactivate(tenants):
    created = (await tenants.create(SYSTEM, create_command())).tenant
    suspended = await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.SUSPENDED))
    assert suspended.status is TenantStatus.SUSPENDED
    active = await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.ACTIVE))
    assert active.status is TenantStatus.ACTIVE and active.version == 3


async def test_list_validates_window_and_clamps_limit(tenants):
    for _ in range(3):
        await tenants.create(SYSTEM, create_command())
    page = await tenants.list(SYSTEM, TenantQuery(limit=500))
    assert page.limit == 100 and page.total == 3
    with pytest.raises(ValidationFailedError):
        await tenants.list(SYSTEM, TenantQuery(limit=0))
    with pytest.raises(ValidationFailedError):
        await tenants.list(SYSTEM, TenantQuery(offset=-1))


async def test_list_is_newest_first(tenants):
    ids = [(await tenants.create(SYSTEM, create_command())).tenant.id for _ in range(3)]
    page = await tenants.list(SYSTEM, TenantQuery())
    assert [t.id for t in page.tenants] == ids[::-1]


async def test_delete_removes_and_second_delete_is_not_found(tenants):
    created = (await tenants.create(SYSTEM, create_command())).tenant
    await tenants.delete(SYSTEM, created.id)
    with pytest.raises(NotFoundError):
        await tenants.get(SYSTEM, created.id)
    with pytest.raises(NotFoundError):
        await tenants.delete(SYSTEM, created.id)


async def test_complete_onboarding_never_clears_whatsapp_configured(tenants):
    created = (await tenants.create(SYSTEM, create_command())).tenant
    done = await tenants.complete_onboarding(SYSTEM, created.id, CompleteOnboarding(whatsapp_configured=True))
    assert done.onboarding_completed and done.whatsapp_configured
    again = await tenants.complete_onboarding(SYSTEM, created.id, CompleteOnboarding(whatsapp_configured=False))
    assert again.whatsapp_configured


async def test_get_reflects_update_immediately_despite_cache(tenants):
    """The cached read by id is invalidated by every write."""
    created = (await tenants.create(SYSTEM, create_command())).tenant
    await tenants.get(SYSTEM, created.id)  # now cached
    await tenants.update(SYSTEM, created.id, UpdateTenant(name="Fresh"))
    assert (await tenants.get(SYSTEM, created.id)).name == "Fresh"


async def test_list_pages_by_cursor_and_refuses_foreign_cursors(tenants):
    """Cursor pages follow each other without overlap; anything but an issued cursor is a 400."""
    created = {(await tenants.create(SYSTEM, create_command())).tenant.id for _ in range(7)}
    first = await tenants.list(SYSTEM, TenantQuery(limit=4))
    second = await tenants.list(SYSTEM, TenantQuery(limit=4), after=first.next)
    assert {t.id for t in first.tenants + second.tenants} == created and second.next is None
    naive = encode_cursor("2026-01-01T00:00:00", "t_0000000000000000")
    for cursor in ("garbage", naive, encode_cursor(1), encode_cursor("x", "y")):
        with pytest.raises(ValidationFailedError):
            await tenants.list(SYSTEM, TenantQuery(limit=4), after=cursor)


async def test_delete_takes_what_the_tenant_owns_but_its_audit_log_stays(
    tenants, storage, sealed, tenant_cache, directory, clock
):
    created = await tenants.create(SYSTEM, create_command())
    vault = CredentialVault(storage, sealed, tenant_cache, directory, clock)
    genesys = {"clientId": "c", "clientSecret": "secret-123456", "region": "mypurecloud.com"}
    await vault.store(SYSTEM, created.tenant.id, CredentialType.GENESYS, genesys)
    await tenants.delete(SYSTEM, created.tenant.id)
    assert await storage.credentials.get(created.tenant.id, CredentialType.GENESYS) is None
    assert await storage.api_keys.list_for_tenant(created.tenant.id) == []
    page = await AuditTrail(storage, directory).list(SYSTEM, created.tenant.id)
    assert [e.action for e in page.events][0] == "tenant.deleted" and page.total >= 3
    with pytest.raises(NotFoundError):
        await AuditTrail(storage, directory).list(SYSTEM, "t_0000000000000000")


async def test_provisioning_normalises_the_region_and_reuses_the_tenant(provisioning):
    first = await provisioning.provision(
        SYSTEM, ProvisionGenesys(genesys_org_id="o-1", genesys_org_name="O", genesys_region="ap-south-1")
    )
    again = await provisioning.provision(
        SYSTEM, ProvisionGenesys(genesys_org_id="O-1", genesys_org_name="O", genesys_region="aps1")
    )
    assert first.is_new and not again.is_new and again.tenant.id == first.tenant.id
    assert first.tenant.genesys_region == "aps1.pure.cloud"
