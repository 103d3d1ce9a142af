"""Rules several use cases apply are written once: each use case asks the one place, so changing the rule there
changes it everywhere."""

from __future__ import annotations

import pytest

from tenant_core import SYSTEM, NewWebhook, TenantQuery, UpdateTenant, ValidationFailedError, paging
from tests.support.builders import create_command


@pytest.fixture
async def three_of_everything(core):
    """Three tenants (created after a subscription, so three deliveries) and three audit rows for the last."""
    hook = (await core.webhooks().create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.created"]))).webhook
    for _ in range(3):
        last = (await core.tenants().create(SYSTEM, create_command())).tenant.id
    for n in range(2):
        await core.tenants().update(SYSTEM, last, UpdateTenant(name=f"renamed {n}"))
    await core.webhook_delivery().fan_out()
    return hook.id, last


def listings(core, hook_id: str, tenant_id: str):
    """Every paged listing of the core, each asked for ``limit`` items: how many it gave."""
    return {
        "tenants": lambda limit: _count(core.tenants().list(SYSTEM, TenantQuery(limit=limit)), "tenants"),
        "audit log": lambda limit: _count(core.audit_trail().list(SYSTEM, tenant_id, limit), "events"),
        "event feed": lambda limit: _count(core.events().read(SYSTEM, limit=limit), "events"),
        "deliveries": lambda limit: _count(core.webhooks().deliveries(SYSTEM, hook_id, limit), None),
    }


async def _count(listing, field: str | None) -> int:
    page = await listing
    return len(page if field is None else getattr(page, field))


async def test_every_listing_takes_its_page_size_from_the_paging_rule(core, three_of_everything, monkeypatch):
    """With the largest page set to 2 in ``tenant_core.paging``, every listing gives 2 when asked for 50."""
    monkeypatch.setattr(paging, "MAX_PAGE_SIZE", 2)
    sizes = {name: await count(50) for name, count in listings(core, *three_of_everything).items()}
    assert sizes == dict.fromkeys(sizes, 2)


async def test_every_listing_refuses_a_page_of_nothing_alike(core, three_of_everything):
    refusals = set()
    for count in listings(core, *three_of_everything).values():
        with pytest.raises(ValidationFailedError) as refused:
            await count(0)
        refusals.add((refused.value.details[0].field, refused.value.details[0].message))
    assert refusals == {("limit", "must be at least 1")}


async def test_the_feed_and_subscriptions_judge_event_types_by_one_rule(core):
    """An unknown type is refused in the same words by the feed's filter and by a subscription."""
    with pytest.raises(ValidationFailedError) as by_feed:
        await core.events().read(SYSTEM, types=["tenant.created,tenant.exploded"])
    with pytest.raises(ValidationFailedError) as by_subscription:
        await core.webhooks().create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.exploded", "tenant.created"]))
    (feed_problem,), (subscription_problem,) = by_feed.value.details, by_subscription.value.details
    assert (feed_problem.field, subscription_problem.field) == ("type", "eventTypes")
    assert feed_problem.message == subscription_problem.message
    assert feed_problem.message.startswith("unknown event type 'tenant.exploded'; known: tenant.created, ")
