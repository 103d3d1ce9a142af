"""Commands built in Python are converted or refused at the use-case boundary by the rules HTTP bodies meet.

msgspec checks types on decoding, not on construction: a Struct built in Python holds whatever it was
given. Each test builds a command the way an embedding service would (plain strings, text for numbers)
and checks the use case stored the typed value, or refused it as an HTTP body would have been refused.
"""

from __future__ import annotations

import pytest

from tenant_adapters.memory import InMemoryWebhookSender
from tenant_core import (
    SYSTEM,
    CompleteOnboarding,
    CreateTenant,
    EventFeed,
    NewWebhook,
    TenantDirectory,
    TenantLockedError,
    TenantQuery,
    UpdateTenant,
    ValidationFailedError,
    WebhookChange,
    WebhookStatus,
    WebhookSubscriptions,
)
from tenant_core.change_events import EventType
from tenant_core.entities import Plan, Settings, TenantStatus
from tests.support.builders import create_command


def _fields(error: pytest.ExceptionInfo[ValidationFailedError]) -> list[str]:
    return [problem.field for problem in error.value.details]


async def test_a_status_sent_as_plain_text_suspends_the_tenant(tenants, resolver, storage):
    """The README's own form, ``UpdateTenant(status="suspended")``: resolution stops and the feed says so."""
    created = await tenants.create(SYSTEM, create_command(phone_number_id="15550001"))
    updated = await tenants.update(SYSTEM, created.tenant.id, UpdateTenant(status="suspended"))

    assert updated.status is TenantStatus.SUSPENDED
    with pytest.raises(TenantLockedError):
        await resolver.by_phone(SYSTEM, "15550001")
    events = (await EventFeed(storage).read(SYSTEM)).events
    assert events[-1].type == EventType.TENANT_SUSPENDED


async def test_text_for_a_number_is_refused_naming_the_field(tenants):
    created = await tenants.create(SYSTEM, create_command())
    with pytest.raises(ValidationFailedError) as refused:
        await tenants.update(SYSTEM, created.tenant.id, UpdateTenant(rate_limit="100"))
    assert _fields(refused) == ["rateLimit"]
    with pytest.raises(ValidationFailedError) as refused:
        await tenants.create(SYSTEM, CreateTenant(name="Acme", email="ops@acme.com", rate_limit="100"))
    assert _fields(refused) == ["rateLimit"]


async def test_plain_values_become_the_types_the_rules_expect(tenants):
    command = CreateTenant(name="Acme", email="ops@acme.com", plan="premium", settings={"timezone": "UTC"})
    tenant = (await tenants.create(SYSTEM, command)).tenant
    assert tenant.plan is Plan.PREMIUM
    assert tenant.settings == Settings(timezone="UTC")


async def test_unknown_enum_values_and_bad_settings_are_refused(tenants):
    for command, field in [
        (CreateTenant(name="Acme", email="ops@acme.com", plan="gold"), "plan"),
        (CreateTenant(name="Acme", email="ops@acme.com", settings={"timezone": "Mars/Olympus"}), "settings.timezone"),
        (CreateTenant(name="Acme", email="ops@acme.com", settings={"colour": "red"}), "settings.colour"),
        (CreateTenant(name="Acme", email="ops@acme.com", metadata={"note": "a\x00b"}), "metadata.note"),
    ]:
        with pytest.raises(ValidationFailedError) as refused:
            await tenants.create(SYSTEM, command)
        assert _fields(refused) == [field]


async def test_onboarding_with_text_for_a_boolean_is_refused(tenants):
    created = await tenants.create(SYSTEM, create_command())
    with pytest.raises(ValidationFailedError) as refused:
        await tenants.complete_onboarding(SYSTEM, created.tenant.id, CompleteOnboarding(whatsapp_configured="false"))
    assert _fields(refused) == ["whatsappConfigured"]
    assert (await tenants.get(SYSTEM, created.tenant.id)).onboarding_completed is False


async def test_listing_queries_are_checked_too(tenants):
    suspended = (await tenants.create(SYSTEM, create_command())).tenant
    await tenants.create(SYSTEM, create_command())
    await tenants.update(SYSTEM, suspended.id, UpdateTenant(status=TenantStatus.SUSPENDED))
    page = await tenants.list(SYSTEM, TenantQuery(status="suspended"))
    assert [t.id for t in page.tenants] == [suspended.id]
    with pytest.raises(ValidationFailedError) as refused:
        await tenants.list(SYSTEM, TenantQuery(limit="5"))
    assert _fields(refused) == ["limit"]


@pytest.fixture
def subscriptions(storage, sealed, tenant_cache, clock) -> WebhookSubscriptions:
    directory = TenantDirectory(storage.tenants, tenant_cache)
    return WebhookSubscriptions(storage, sealed, InMemoryWebhookSender(), directory, clock)


async def test_webhook_subscriptions_meet_the_limits_of_the_http_body(subscriptions):
    every_type = [t.value for t in EventType]
    for new, field in [
        (NewWebhook("https://x.example/" + "h" * 2048, ["tenant.created"]), "url"),
        (NewWebhook("https://x.example/h", []), "eventTypes"),
        (NewWebhook("https://x.example/h", every_type * 2), "eventTypes"),
        (NewWebhook("https://x.example/h", "tenant.created"), "eventTypes"),
        (NewWebhook("https://x.example/h", ["tenant.created"], tenant_id="t" * 129), "tenantId"),
    ]:
        with pytest.raises(ValidationFailedError) as refused:
            await subscriptions.create(SYSTEM, new)
        assert _fields(refused) == [field]
    created = await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.updated"]))
    assert created.webhook.event_types == ["tenant.updated"]
    with pytest.raises(ValidationFailedError) as refused:
        await subscriptions.update(SYSTEM, created.webhook.id, WebhookChange(status="paused"))
    assert _fields(refused) == ["status"]
    changed = await subscriptions.update(SYSTEM, created.webhook.id, WebhookChange(status="disabled"))
    assert changed.status is WebhookStatus.DISABLED  # what ``Webhook.wants`` compares with: it pauses deliveries
