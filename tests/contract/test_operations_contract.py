"""The backlog an operator watches: in-memory and Postgres report the same numbers for the same state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenant_core.change_events import ChangeEvent
from tenant_core.webhooks import Delivery, DeliveryAttempt, DeliveryState, Webhook, WebhookStatus

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _webhook(webhook_id: str, status: WebhookStatus = WebhookStatus.ACTIVE) -> Webhook:
    return Webhook(
        id=webhook_id, url="https://example.com/hook", event_types=["tenant.updated"], tenant_id=None,
        description=None, status=status, key_id="k", sealed_secret=b"sealed", created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def _delivery(n: int, queued_at: datetime) -> Delivery:
    return Delivery(
        id=f"dlv_{n}", webhook_id="wh_1", event_id=f"evt-{n}", event_type="tenant.updated", event_position=n,
        tenant_id="t_a", state=DeliveryState.PENDING, attempts=[], next_attempt_at=queued_at, created_at=queued_at,
        payload=b"{}",
    )  # fmt: skip


async def test_an_idle_store_has_no_backlog(storage):
    backlog = await storage.backlog("bus")
    assert (backlog.pending_deliveries, backlog.failing_subscriptions, backlog.unnumbered_events) == (0, 0, 0)
    assert backlog.oldest_pending_delivery_at is None and backlog.oldest_unnumbered_event_at is None
    assert backlog.unrelayed_events == 0


async def test_pending_deliveries_failing_subscriptions_and_the_relay_are_counted(storage):
    async with storage.unit_of_work() as uow:
        await uow.webhooks.add(_webhook("wh_1"))
        await uow.webhooks.add(_webhook("wh_2", WebhookStatus.FAILING))
        await uow.webhooks.enqueue([_delivery(n, NOW + timedelta(minutes=n)) for n in (1, 2, 3)])
        for n in range(5):
            await uow.events.append(ChangeEvent(f"e{n}", "tenant.updated", "t_a", NOW, {}))
    async with storage.unit_of_work() as uow:
        await uow.events.sequence(wait=True)
        await uow.consumers.claim("bus")
        await uow.consumers.advance("bus", (await uow.events.read(0, 2))[-1].position)
    await storage.webhooks.record_attempt(
        "dlv_1", DeliveryAttempt(NOW, 204, 1.0), DeliveryState.DELIVERED, NOW + timedelta(minutes=1), holder="w1"
    )
    backlog = await storage.backlog("bus")
    assert backlog.pending_deliveries == 2
    assert backlog.oldest_pending_delivery_at == NOW + timedelta(minutes=2)  # the delivered one no longer counts
    assert backlog.failing_subscriptions == 1
    assert backlog.unrelayed_events == 3  # five numbered, two published
    assert backlog.unnumbered_events == 0 and backlog.oldest_unnumbered_event_at is None


async def test_events_waiting_for_a_position_are_counted_with_the_oldest(postgres_storage):
    """Only Postgres numbers events after they commit (memory numbers them as they are appended)."""
    async with postgres_storage.unit_of_work() as uow:
        await uow.events.append(ChangeEvent("e1", "tenant.updated", "t_a", NOW, {}))
        await uow.events.append(ChangeEvent("e2", "tenant.updated", "t_a", NOW + timedelta(seconds=5), {}))
    backlog = await postgres_storage.backlog("bus")
    assert backlog.unnumbered_events == 2 and backlog.oldest_unnumbered_event_at == NOW
    async with postgres_storage.unit_of_work() as uow:
        await uow.events.sequence(wait=True)
    assert (await postgres_storage.backlog("bus")).unnumbered_events == 0
