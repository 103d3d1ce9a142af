"""Failures are reported where they happen: each failed webhook attempt, the attempt that turns a subscription
``failing``, each batch the bus did not confirm. The use cases tell a callback; the service logs it."""

from __future__ import annotations

import pytest

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryEventBus, InMemoryWebhookSender
from tenant_core import (
    SYSTEM,
    EventRelay,
    FailedDelivery,
    FailedPublish,
    NewWebhook,
    TenantDirectory,
    UnavailableError,
    WebhookDelivery,
    WebhookSubscriptions,
)
from tenant_core.sealing import SealedValues
from tests.support.builders import create_command


@pytest.fixture
def sender() -> InMemoryWebhookSender:
    return InMemoryWebhookSender()


async def _subscribe(storage, sealed, sender, tenant_cache, clock):
    subscriptions = WebhookSubscriptions(storage, sealed, sender, TenantDirectory(storage.tenants, tenant_cache), clock)
    return (await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.created"]))).webhook


async def _deliver_all(delivery: WebhookDelivery) -> None:
    await delivery.fan_out()
    while await delivery.send_due():
        pass


async def test_each_failed_attempt_is_reported_and_the_last_turns_the_subscription_failing(
    storage, sealed, sender, tenant_cache, clock, tenants
):
    hook = await _subscribe(storage, sealed, sender, tenant_cache, clock)
    reports: list[FailedDelivery] = []
    delivery = WebhookDelivery(
        storage, sealed, sender, clock, retry_schedule=(0.0, 0.0), on_failed_attempt=reports.append
    )
    sender.statuses = [500, 503, 500]
    created = (await tenants.create(SYSTEM, create_command())).tenant
    await _deliver_all(delivery)
    (failed,) = await storage.webhooks.deliveries(hook.id, 10)
    assert [(r.attempt, r.reason, r.status_code) for r in reports] == [
        (1, "HTTP 500", 500),
        (2, "HTTP 503", 503),
        (3, "HTTP 500", 500),
    ]
    assert {(r.webhook_id, r.tenant_id, r.event_id, r.delivery_id) for r in reports} == {
        (hook.id, created.id, failed.event_id, failed.id)
    }
    assert [r.next_attempt_at is None for r in reports] == [False, False, True]  # the last had none left
    assert [r.subscription_failing for r in reports] == [False, False, True]


async def test_a_delivered_event_reports_nothing_and_an_unreadable_secret_says_so(
    storage, sealed, sender, tenant_cache, clock, tenants
):
    await _subscribe(storage, sealed, sender, tenant_cache, clock)
    reports: list[FailedDelivery] = []
    elsewhere = SealedValues(AesGcmCipher({"other": b"o" * 32}))  # a worker without the subscription's key
    for sealed_here, statuses in ((sealed, [204]), (elsewhere, [])):
        delivery = WebhookDelivery(
            storage, sealed_here, sender, clock, retry_schedule=(60.0,), on_failed_attempt=reports.append
        )
        sender.statuses = statuses
        await tenants.create(SYSTEM, create_command())
        await _deliver_all(delivery)
    (unreadable,) = reports
    assert unreadable.reason.startswith("signing secret unreadable") and unreadable.status_code is None
    assert unreadable.next_attempt_at is not None and not unreadable.subscription_failing


async def test_each_unconfirmed_bus_batch_is_reported_with_its_attempt(storage, tenants):
    reports: list[FailedPublish] = []
    bus = InMemoryEventBus(down=True)
    relay = EventRelay(storage, bus, on_failed_publish=reports.append)
    created = (await tenants.create(SYSTEM, create_command())).tenant
    for _ in range(2):
        with pytest.raises(UnavailableError):
            await relay.relay()
    bus.down = False
    assert await relay.relay() == 2
    bus.down = True
    await tenants.create(SYSTEM, create_command())
    with pytest.raises(UnavailableError):
        await relay.relay()
    assert [(r.attempt, r.events, r.reason) for r in reports] == [
        (1, 2, "The event bus is down"),
        (2, 2, "The event bus is down"),
        (1, 2, "The event bus is down"),  # counted again from one after a success
    ]
    assert reports[0].event_id == bus.published[0].id and reports[0].tenant_id == created.id
