"""Connection checks' rules on in-memory adapters: what each check says, what is kept, what is filled in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenant_adapters.memory import InMemoryGenesysCloud, InMemoryMetaGraph
from tenant_core import (
    SYSTEM,
    ConflictError,
    ConnectionChecks,
    ConnectionStatus,
    CredentialType,
    CredentialVault,
    ForbiddenError,
    GraphPhoneNumber,
    MetaAppNotConfiguredError,
    NotFoundError,
    Principal,
    Role,
    TokenHealth,
    UnavailableError,
    UpdateTenant,
    ValidationFailedError,
)
from tests.support.builders import create_command
from tests.support.stored_connections import GENESYS, ORG, REGION, TOKEN, WHATSAPP


@pytest.fixture
def genesys() -> InMemoryGenesysCloud:
    cloud = InMemoryGenesysCloud(integrations={ORG.id: {"int-1"}})
    cloud.add_client(REGION, "client-1", "secret-1", ORG)
    return cloud


@pytest.fixture
def graph() -> InMemoryMetaGraph:
    return InMemoryMetaGraph(
        wabas={TOKEN: ["100"]},
        numbers={"100": [GraphPhoneNumber("1001", "+1 555 1001", "GREEN", "Acme", "VERIFIED")]},
    )


@pytest.fixture
def vault(storage, tenant_cache, clock, sealed, directory) -> CredentialVault:
    return CredentialVault(storage, sealed, tenant_cache, directory, clock)


@pytest.fixture
def checks(storage, vault, directory, clock, genesys, graph) -> ConnectionChecks:
    return ConnectionChecks(storage, vault, directory, clock, genesys, graph)


async def _tenant(tenants, **fields):
    return (await tenants.create(SYSTEM, create_command(**fields))).tenant


async def _with_genesys(tenants, vault, **credentials):
    tenant = await _tenant(tenants)
    await vault.store(SYSTEM, tenant.id, CredentialType.GENESYS, {**GENESYS, **credentials})
    return tenant


async def test_good_genesys_credentials_pass_and_fill_the_org(tenants, vault, checks):
    tenant = await _with_genesys(tenants, vault)
    report = await checks.verify_genesys(SYSTEM, tenant.id)
    assert report.ok and [c.name for c in report.checks] == ["token", "org", "integration"]
    after = await tenants.get(SYSTEM, tenant.id)
    assert (after.genesys_org_id, after.genesys_org_name) == (ORG.id, ORG.name)
    view = await vault.view(SYSTEM, tenant.id, CredentialType.GENESYS)
    assert view.status.last_check == report


async def test_a_wrong_secret_or_region_says_so(tenants, vault, checks):
    for credentials in ({"clientSecret": "wrong", "integrationId": "a"}, {"region": "mypurecloud.com"}):
        tenant = await _with_genesys(tenants, vault, **credentials)
        report = await checks.verify_genesys(SYSTEM, tenant.id)
        token = report.checks[0]
        assert not report.ok and not token.ok and "wrong region or credentials" in token.detail
        assert "wrong" not in token.detail.replace("wrong region", "")  # the secret is never repeated
        assert (await tenants.get(SYSTEM, tenant.id)).genesys_org_id is None


async def test_another_org_fails_the_check_and_is_not_bound(tenants, vault, checks):
    tenant = await _with_genesys(tenants, vault)
    await tenants.update(SYSTEM, tenant.id, UpdateTenant(genesys_org_id="org-2222"))
    report = await checks.verify_genesys(SYSTEM, tenant.id)
    org = next(c for c in report.checks if c.name == "org")
    assert not report.ok and not org.ok and "org-2222" in org.detail and ORG.id in org.detail
    assert (await tenants.get(SYSTEM, tenant.id)).genesys_org_id == "org-2222"


async def test_an_org_bound_to_another_tenant_fails_without_naming_it(tenants, vault, checks):
    holder = await _tenant(tenants, genesys_org_id=ORG.id)
    tenant = await _with_genesys(tenants, vault)
    report = await checks.verify_genesys(Principal("key-1", Role.TENANT, tenant.id), tenant.id)
    org = next(c for c in report.checks if c.name == "org")
    assert not org.ok and "another tenant" in org.detail and holder.id not in org.detail
    assert (await tenants.get(SYSTEM, tenant.id)).genesys_org_id is None
    other = await _tenant(tenants)
    with pytest.raises(ConflictError):
        await checks.store_genesys(SYSTEM, other.id, {**GENESYS, "integrationId": "int-2"})


async def test_a_missing_integration_fails_only_that_check(tenants, vault, checks):
    tenant = await _with_genesys(tenants, vault, integrationId="int-404")
    report = await checks.verify_genesys(SYSTEM, tenant.id)
    assert [(c.name, c.ok) for c in report.checks] == [("token", True), ("org", True), ("integration", False)]


async def test_an_outage_is_a_failed_check_not_an_error(tenants, vault, checks, genesys):
    tenant = await _with_genesys(tenants, vault)
    genesys.unreachable.add("token")
    report = await checks.verify_genesys(SYSTEM, tenant.id)
    assert not report.ok and "did not answer" in report.checks[0].detail


async def test_store_with_verify_stores_only_what_works(tenants, vault, checks, storage):
    tenant = await _tenant(tenants)
    with pytest.raises(ValidationFailedError) as refused:
        await checks.store_genesys(SYSTEM, tenant.id, {**GENESYS, "clientSecret": "wrong"})
    assert [d.field for d in refused.value.details] == ["token", "org", "integration"]
    assert await vault.view(SYSTEM, tenant.id, CredentialType.GENESYS) is None
    outcome = await checks.store_genesys(SYSTEM, tenant.id, GENESYS)
    assert outcome.tenant.genesys_org_id == ORG.id and outcome.tenant.genesys_integration_id == "int-1"
    assert (await vault.view(SYSTEM, tenant.id, CredentialType.GENESYS)).status.last_check.ok


async def test_store_with_verify_for_another_org_is_a_conflict(tenants, vault, checks):
    tenant = await _tenant(tenants, genesys_org_id="org-2222")
    with pytest.raises(ConflictError):
        await checks.store_genesys(SYSTEM, tenant.id, GENESYS)
    assert await vault.view(SYSTEM, tenant.id, CredentialType.GENESYS) is None


async def test_a_check_of_replaced_credentials_is_not_kept(tenants, vault, checks, genesys):
    tenant = await _with_genesys(tenants, vault)
    stored = await vault.opened(tenant.id, CredentialType.GENESYS)
    await vault.store(SYSTEM, tenant.id, CredentialType.GENESYS, {**GENESYS, "clientSecret": "other"})
    report = (await checks.verify_genesys(SYSTEM, tenant.id)).checks  # checks the new one …
    assert report[0].ok is False
    await vault.record_check(SYSTEM, stored, ConnectionStatus(token_checked=True))  # … an old result is dropped
    assert (await vault.view(SYSTEM, tenant.id, CredentialType.GENESYS)).status.last_check.checks == report


async def test_tenants_verify_only_their_own(tenants, vault, checks):
    tenant = await _with_genesys(tenants, vault)
    other = await _tenant(tenants)
    own = Principal("key-1", Role.TENANT, tenant.id)
    assert (await checks.verify_genesys(own, tenant.id)).ok
    with pytest.raises(ForbiddenError):
        await checks.verify_genesys(Principal("key-2", Role.TENANT, other.id), tenant.id)


async def test_nothing_stored_is_not_found(tenants, checks):
    tenant = await _tenant(tenants)
    with pytest.raises(NotFoundError):
        await checks.verify_genesys(SYSTEM, tenant.id)
    with pytest.raises(NotFoundError):
        await checks.verify_whatsapp(SYSTEM, tenant.id)


async def _with_whatsapp(tenants, vault):
    tenant = await _tenant(tenants)
    await vault.store(SYSTEM, tenant.id, CredentialType.WHATSAPP, {**WHATSAPP, "qualityRating": "RED"})
    return tenant


async def test_whatsapp_health_is_unknown_until_checked_then_ok(tenants, vault, checks):
    tenant = await _with_whatsapp(tenants, vault)
    assert (await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)).health is TokenHealth.UNKNOWN
    report = await checks.verify_whatsapp(SYSTEM, tenant.id)
    assert report.ok and [c.name for c in report.checks] == ["token", "scopes", "waba", "phone_number"]
    view = await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)
    assert view.health is TokenHealth.OK
    # The number's state was refreshed from Meta.
    assert view.credentials["qualityRating"] == "GREEN" and view.status.verified_name == "Acme"
    assert view.status.code_verification_status == "VERIFIED"


async def test_a_revoked_token_makes_the_connection_invalid(tenants, vault, checks, graph):
    tenant = await _with_whatsapp(tenants, vault)
    await checks.verify_whatsapp(SYSTEM, tenant.id)
    graph.revoked.add(TOKEN)
    report = await checks.verify_whatsapp(SYSTEM, tenant.id)
    assert not report.ok
    assert (await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)).health is TokenHealth.INVALID


async def test_a_token_expiring_within_a_week_is_expiring(tenants, vault, checks, graph, clock):
    tenant = await _with_whatsapp(tenants, vault)
    graph.expiries[TOKEN] = (None, clock.now() + timedelta(days=3))  # data access ends first
    report = await checks.verify_whatsapp(SYSTEM, tenant.id)
    assert report.ok
    view = await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)
    assert view.health is TokenHealth.EXPIRING and view.status.expires_at() == graph.expiries[TOKEN][1]


async def test_a_token_that_no_longer_covers_the_waba_is_invalid(tenants, vault, checks, graph):
    tenant = await _with_whatsapp(tenants, vault)
    graph.wabas[TOKEN] = ["999"]
    report = await checks.verify_whatsapp(SYSTEM, tenant.id)
    assert [(c.name, c.ok) for c in report.checks][:3] == [("token", True), ("scopes", True), ("waba", False)]
    assert (await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)).health is TokenHealth.INVALID


async def test_meta_unreachable_keeps_what_was_known(tenants, vault, checks, graph):
    tenant = await _with_whatsapp(tenants, vault)
    await checks.verify_whatsapp(SYSTEM, tenant.id)
    graph.failing.add("debug_token")
    report = await checks.verify_whatsapp(SYSTEM, tenant.id)
    assert not report.ok and "could not ask Meta" in report.checks[0].detail
    assert (await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)).health is TokenHealth.OK


async def test_whatsapp_checks_need_a_meta_app(storage, vault, directory, clock, genesys, tenants):
    """The same error as signup's without a Meta app: one rule, one 503 naming the settings to set."""
    tenant = await _with_whatsapp(tenants, vault)
    with pytest.raises(MetaAppNotConfiguredError) as refused:
        await ConnectionChecks(storage, vault, directory, clock, genesys, None).verify_whatsapp(SYSTEM, tenant.id)
    assert isinstance(refused.value, UnavailableError)


async def test_configured_lists_every_stored_credential(tenants, vault, checks):
    genesys_only = await _with_genesys(tenants, vault)
    whatsapp_only = await _with_whatsapp(tenants, vault)
    await _tenant(tenants)
    found = [pair async for pair in checks.configured(page=1)]
    assert sorted(found) == sorted([(genesys_only.id, "genesys"), (whatsapp_only.id, "whatsapp")])
    assert [pair async for pair in checks.configured(genesys_only.id)] == [(genesys_only.id, "genesys")]


def test_health_boundaries():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert ConnectionStatus().health(now) is TokenHealth.UNKNOWN
    assert ConnectionStatus(token_checked=True).health(now) is TokenHealth.OK  # never expires
    assert ConnectionStatus(token_checked=True, token_expires_at=now).health(now) is TokenHealth.INVALID
    week = ConnectionStatus(token_checked=True, token_expires_at=now + timedelta(days=7))
    assert week.health(now) is TokenHealth.EXPIRING
    assert week.health(now - timedelta(seconds=1)) is TokenHealth.OK
