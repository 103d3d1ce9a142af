"""WhatsApp Embedded Signup's rules on in-memory adapters: which WABA and number, all or nothing, states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenant_adapters.memory import InMemoryMetaGraph
from tenant_core import (
    SYSTEM,
    CompleteSignup,
    CredentialType,
    CredentialVault,
    GraphApiError,
    GraphPhoneNumber,
    InvalidSignupStateError,
    MetaAppNotConfiguredError,
    NotFoundError,
    Principal,
    Role,
    SignupEvent,
    SignupStateCodec,
    TenantStatus,
    TenantSuspendedError,
    TokenHealth,
    UpdateTenant,
    ValidationFailedError,
    WabaNotFoundError,
    WhatsAppSignup,
)
from tenant_core.entities import new_tenant
from tenant_core.use_cases.signup import new_pin
from tests.support.builders import create_command

TOKEN = "EAAG-business-token"


@pytest.fixture
def graph() -> InMemoryMetaGraph:
    return InMemoryMetaGraph(
        codes={"code-1": TOKEN},
        wabas={TOKEN: ["100", "200"]},
        numbers={
            "100": [GraphPhoneNumber("1001", "+1 555 1001", "GREEN"), GraphPhoneNumber("1002", "+1 555 1002")],
            "200": [GraphPhoneNumber("2001", "+1 555 2001", "YELLOW")],
        },
    )


@pytest.fixture
def vault(storage, tenant_cache, clock, sealed) -> CredentialVault:
    return CredentialVault(storage, sealed, tenant_cache, clock)


@pytest.fixture
def states(clock) -> SignupStateCodec:
    return SignupStateCodec(b"signing-secret", clock)


@pytest.fixture
def signup(storage, states, graph, vault) -> WhatsAppSignup:
    return WhatsAppSignup(storage, states, graph, vault)


async def _tenant(tenants):
    return (await tenants.create(SYSTEM, create_command())).tenant


async def test_first_waba_and_number_by_default_all_stored_and_bound(tenants, signup, graph, vault, resolver):
    tenant = await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    result = await signup.complete(None, CompleteSignup(code="code-1", state=state))
    assert (result.credentials.waba_id, result.credentials.phone_number_id) == ("100", "1001")
    assert graph.steps == ["exchange_code", "debug_token", "phone_numbers", "subscribe_app", "register"]
    assert graph.subscribed == {"100"}
    assert (await resolver.by_phone(SYSTEM, "1001")).id == tenant.id
    stored = await vault.reveal(SYSTEM, tenant.id, CredentialType.WHATSAPP)
    assert stored.credentials.access_token == TOKEN
    # The number was registered with a fresh six-digit PIN, which is kept sealed and masked in views.
    assert stored.credentials.pin == graph.registered["1001"] and len(stored.credentials.pin) == 6
    assert (await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)).credentials["pin"] == "****"


def test_pins_are_six_random_digits():
    pins = {new_pin() for _ in range(50)}
    assert all(len(pin) == 6 and pin.isdigit() for pin in pins) and len(pins) > 40


async def test_coexistence_keeps_the_business_app_registration(tenants, signup, graph, vault, resolver):
    tenant = await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    event = SignupEvent.FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING
    await signup.complete(None, CompleteSignup(code="code-1", state=state, event=event))
    assert "register" not in graph.steps and graph.subscribed == {"100"}
    assert (await resolver.by_phone(SYSTEM, "1001")).id == tenant.id
    assert (await vault.reveal(SYSTEM, tenant.id, CredentialType.WHATSAPP)).credentials.pin is None


async def test_only_waba_stores_the_waba_without_a_number(tenants, signup, graph, vault):
    tenant = await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    result = await signup.complete(None, CompleteSignup(code="code-1", state=state, event=SignupEvent.FINISH_ONLY_WABA))
    assert result.credentials.phone_number_id is None and result.credentials.waba_id == "100"
    assert graph.steps == ["exchange_code", "debug_token", "subscribe_app"]
    after = await tenants.get(SYSTEM, tenant.id)
    assert after.phone_number_id is None and after.whatsapp_configured is False
    with pytest.raises(NotFoundError, match="no phone number"):
        await vault.meta(SYSTEM, tenant.id)


async def test_only_waba_with_a_number_is_refused_before_meta_is_called(tenants, signup, graph):
    tenant = await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    command = CompleteSignup(code="code-1", state=state, phone_number_id="1001", event=SignupEvent.FINISH_ONLY_WABA)
    with pytest.raises(ValidationFailedError, match="phoneNumberId"):
        await signup.complete(None, command)
    assert graph.steps == []


async def test_a_failed_registration_stores_nothing(tenants, signup, graph, vault, storage):
    tenant = await _tenant(tenants)
    audited = await storage.audit.list_for_tenant(tenant.id, 10, 0)
    graph.failing.add("register")
    state = (await signup.start(SYSTEM, tenant.id)).state
    with pytest.raises(GraphApiError):
        await signup.complete(None, CompleteSignup(code="code-1", state=state))
    assert await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP) is None
    assert await tenants.get(SYSTEM, tenant.id) == tenant
    assert await storage.audit.list_for_tenant(tenant.id, 10, 0) == audited


async def test_signup_keeps_the_token_expiry(tenants, signup, graph, vault, clock):
    tenant = await _tenant(tenants)
    expires = datetime(2026, 2, 15, tzinfo=UTC)  # three days after the test clock's start: expiring
    graph.expiries[TOKEN] = (expires, None)
    state = (await signup.start(SYSTEM, tenant.id)).state
    await signup.complete(None, CompleteSignup(code="code-1", state=state))
    view = await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP)
    assert view.status.token_expires_at == expires and view.health is TokenHealth.EXPIRING


async def test_the_browser_may_name_the_waba_and_number(tenants, signup):
    tenant = await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    result = await signup.complete(
        None, CompleteSignup(code="code-1", state=state, waba_id="200", phone_number_id="2001")
    )
    assert result.credentials.phone_number_id == "2001" and result.credentials.quality_rating == "YELLOW"


@pytest.mark.parametrize(
    ("waba", "phone"), [("999", None), ("100", "2001")], ids=["waba-not-granted", "number-of-another-waba"]
)
async def test_what_the_token_does_not_cover_is_refused_before_subscribing(tenants, signup, graph, waba, phone):
    tenant = await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    with pytest.raises(WabaNotFoundError):
        await signup.complete(None, CompleteSignup(code="code-1", state=state, waba_id=waba, phone_number_id=phone))
    assert "subscribe_app" not in graph.steps


@pytest.mark.parametrize("step", ["exchange_code", "debug_token", "phone_numbers", "subscribe_app"])
async def test_any_graph_failure_stores_nothing(tenants, signup, graph, vault, step):
    graph.failing.add(step)
    tenant = await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    with pytest.raises(GraphApiError):
        await signup.complete(None, CompleteSignup(code="code-1", state=state))
    assert await vault.view(SYSTEM, tenant.id, CredentialType.WHATSAPP) is None
    assert (await tenants.get(SYSTEM, tenant.id)).whatsapp_configured is False


async def test_a_state_is_single_use_bound_to_its_tenant_and_expires(tenants, signup, states, clock, graph):
    tenant, other = await _tenant(tenants), await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    await signup.complete(None, CompleteSignup(code="code-1", state=state))
    graph.codes["code-2"] = TOKEN
    with pytest.raises(InvalidSignupStateError):  # replayed
        await signup.complete(None, CompleteSignup(code="code-2", state=state))
    foreign = Principal(subject="k", role=Role.TENANT, tenant_id=other.id)
    with pytest.raises(InvalidSignupStateError):  # another tenant's caller
        await signup.complete(
            foreign, CompleteSignup(code="code-2", state=(await signup.start(SYSTEM, tenant.id)).state)
        )
    expired = SignupStateCodec(b"signing-secret", clock, ttl=timedelta(seconds=-1)).issue(tenant.id).state
    with pytest.raises(InvalidSignupStateError):
        await signup.complete(None, CompleteSignup(code="code-2", state=expired))
    assert graph.steps.count("exchange_code") == 1  # every refusal happened before Meta was called


async def test_a_plain_tenant_id_is_accepted_only_from_a_caller_allowed_on_it(tenants, signup):
    tenant = await _tenant(tenants)
    with pytest.raises(InvalidSignupStateError):
        await signup.complete(None, CompleteSignup(code="code-1", state=tenant.id))
    own = Principal(subject="k", role=Role.TENANT, tenant_id=tenant.id)
    result = await signup.complete(own, CompleteSignup(code="code-1", state=tenant.id))
    assert result.tenant_id == tenant.id


async def test_signup_needs_an_active_tenant_and_a_meta_app(tenants, signup, storage, states, vault):
    tenant = await _tenant(tenants)
    state = (await signup.start(SYSTEM, tenant.id)).state
    await tenants.update(SYSTEM, tenant.id, UpdateTenant(status=TenantStatus.SUSPENDED))
    with pytest.raises(TenantSuspendedError):
        await signup.complete(None, CompleteSignup(code="code-1", state=state))
    await tenants.update(SYSTEM, tenant.id, UpdateTenant(status=TenantStatus.DELETED))
    with pytest.raises(NotFoundError):
        await signup.start(SYSTEM, tenant.id)
    with pytest.raises(MetaAppNotConfiguredError):
        await WhatsAppSignup(storage, states, None, vault).complete(None, CompleteSignup(code="c", state="s"))


async def test_an_imported_tenant_with_a_free_string_id_can_sign_up(storage, signup, tenant_cache, clock):
    async with storage.unit_of_work() as uow:
        await uow.tenants.add(new_tenant(id="demo-tenant-001", name="Demo", now=clock.now()))
    own = Principal(subject="k", role=Role.TENANT, tenant_id="demo-tenant-001")
    assert (
        await signup.complete(own, CompleteSignup(code="code-1", state="demo-tenant-001"))
    ).tenant_id == "demo-tenant-001"
