"""The outbox, consumer positions and webhook deliveries: in-memory and Postgres behave alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tenant_core.change_events import ChangeEvent
from tenant_core.webhooks import Delivery, DeliveryAttempt, DeliveryState, Lease, Webhook, WebhookStatus

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _event(n: int, tenant_id: str = "t_a", type_: str = "tenant.updated", at: datetime = NOW) -> ChangeEvent:
    return ChangeEvent(id=f"evt-{n}-{tenant_id}", type=type_, subject=tenant_id, time=at, data={"n": n})


async def _append(storage, *events: ChangeEvent) -> None:
    async with storage.unit_of_work() as uow:
        for event in events:
            await uow.events.append(event)
    await _sequence(storage)


async def _sequence(storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.events.sequence(wait=True)


async def test_events_get_increasing_positions_in_commit_order_and_filter(storage):
    await _append(storage, _event(1), _event(2, "t_b", "tenant.created"))
    await _append(storage, _event(3))
    events = await storage.events.read(0, 10)
    assert [e.data["n"] for e in events] == [1, 2, 3]
    positions = [e.position for e in events]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert [e.data["n"] for e in await storage.events.read(positions[0], 10)] == [2, 3]
    assert [e.data["n"] for e in await storage.events.read(0, 10, tenant_id="t_a")] == [1, 3]
    assert [e.data["n"] for e in await storage.events.read(0, 10, types=frozenset({"tenant.created"}))] == [2]
    assert [e.data["n"] for e in await storage.events.read(0, 1)] == [1]
    assert events[0].time == NOW and events[0].subject == "t_a" and events[0].type == "tenant.updated"


async def test_a_rolled_back_transaction_leaves_no_event(storage):
    with pytest.raises(RuntimeError):
        async with storage.unit_of_work() as uow:
            await uow.events.append(_event(1))
            raise RuntimeError("the change failed")
    assert await storage.events.read(0, 10) == []


async def test_a_reader_never_finds_a_new_event_below_a_position_it_saw(storage):
    """Concurrent writers: whatever a reader saw, later events all come after its last position."""
    seen_max = 0
    violations = []

    async def writer(n: int) -> None:
        for i in range(10):
            async with storage.unit_of_work() as uow:
                await uow.events.append(_event(n * 100 + i, f"t_{n}"))

    async def reader() -> None:
        nonlocal seen_max
        known: set[int] = set()
        for _ in range(60):
            async with storage.unit_of_work() as uow:
                await uow.events.sequence()  # as every worker does, concurrently with the writers
            events = await storage.events.read(0, 1000)
            positions = {e.position for e in events}
            violations.extend(p for p in positions - known if p <= seen_max)
            known |= positions
            seen_max = max(known, default=0)
            await asyncio.sleep(0)

    await asyncio.gather(reader(), *(writer(n) for n in range(4)))
    await _sequence(storage)
    assert violations == []
    assert len(await storage.events.read(0, 1000)) == 40


async def test_prune_moves_the_horizon_past_what_it_removed(storage):
    old, new = NOW - timedelta(days=40), NOW
    await _append(storage, _event(1, at=old), _event(2, at=old))
    await _append(storage, _event(3, at=new))
    assert await storage.events.horizon() < (await storage.events.read(0, 1))[0].position  # nothing pruned yet
    assert await storage.events.prune(NOW - timedelta(days=30)) == 2
    remaining = await storage.events.read(0, 10)
    assert [e.data["n"] for e in remaining] == [3]
    assert await storage.events.horizon() == remaining[0].position - 1
    assert await storage.events.prune(NOW - timedelta(days=30)) == 0


async def test_consumer_positions_start_at_zero_and_advance_with_the_transaction(storage):
    async with storage.unit_of_work() as uow:
        assert await uow.consumers.claim("contract-a") == 0
        await uow.consumers.advance("contract-a", 7)
    with pytest.raises(RuntimeError):
        async with storage.unit_of_work() as uow:
            assert await uow.consumers.claim("contract-a") == 7
            await uow.consumers.advance("contract-a", 9)
            raise RuntimeError("crash before commit")
    async with storage.unit_of_work() as uow:
        assert await uow.consumers.claim("contract-a") == 7


async def test_a_consumer_held_by_one_transaction_is_skipped_by_another(postgres_storage):
    """Real Postgres only: the memory adapter runs one transaction at a time, so there is nothing to skip."""
    async with postgres_storage.unit_of_work() as uow:
        await uow.consumers.claim("contract-b")  # a known consumer (the migration seeds the service's own)
    async with postgres_storage.unit_of_work() as first:
        assert await first.consumers.claim("contract-b") == 0
        async with postgres_storage.unit_of_work() as second:
            assert await second.consumers.claim("contract-b") is None


def _webhook(webhook_id: str = "wh_1") -> Webhook:
    return Webhook(
        id=webhook_id,
        url="https://example.com/hook",
        event_types=["tenant.updated"],
        tenant_id=None,
        description=None,
        status=WebhookStatus.ACTIVE,
        key_id="k",
        sealed_secret=b"sealed",
        created_at=NOW,
        updated_at=NOW,
    )


def _delivery(n: int, tenant_id: str = "t_a", due: datetime = NOW, webhook_id: str = "wh_1") -> Delivery:
    return Delivery(
        id=f"dlv_{n}_{tenant_id}",
        webhook_id=webhook_id,
        event_id=f"evt-{n}-{tenant_id}",
        event_type="tenant.updated",
        event_position=n,
        tenant_id=tenant_id,
        state=DeliveryState.PENDING,
        attempts=[],
        next_attempt_at=due,
        created_at=NOW + timedelta(seconds=n),
        payload=b'{"n": %d}' % n,
    )


def _lease(at: datetime = NOW, holder: str = "worker-1", seconds: float = 30) -> Lease:
    return Lease(holder, at + timedelta(seconds=seconds))


async def _subscribed(storage, *deliveries: Delivery) -> None:
    async with storage.unit_of_work() as uow:
        await uow.webhooks.add(_webhook())
        await uow.webhooks.enqueue(list(deliveries))


async def test_only_the_oldest_pending_delivery_of_each_tenant_is_claimed(storage):
    await _subscribed(storage, _delivery(1), _delivery(2), _delivery(3, "t_b"))
    lease = _lease()
    claimed = await storage.webhooks.claim_due(NOW, lease, 10, 1)
    assert sorted(d.id for d in claimed) == ["dlv_1_t_a", "dlv_3_t_b"]
    assert await storage.webhooks.claim_due(NOW, lease, 10, 1) == []  # leased
    ok = DeliveryAttempt(at=NOW, status_code=204, latency_ms=3.5)
    await storage.webhooks.record_attempt("dlv_1_t_a", ok, DeliveryState.DELIVERED, NOW, "worker-1")
    assert [d.id for d in await storage.webhooks.claim_due(NOW, lease, 10, 1)] == ["dlv_2_t_a"]
    assert (await storage.webhooks.get_delivery("wh_1", "dlv_1_t_a")).attempts == [ok]


async def test_concurrent_claims_never_split_a_line(storage):
    """Workers claiming at the same moment: each line (subscription × tenant) goes whole to one of them, so
    no two workers send one tenant's deliveries side by side."""
    tenants = [f"t_{n}" for n in range(6)]
    await _subscribed(storage, *(_delivery(n, tenant) for tenant in tenants for n in range(1, 6)))
    lease = _lease()
    for round_ in range(10):
        claims = await asyncio.gather(*(storage.webhooks.claim_due(NOW, lease, 10, 20) for _ in range(4)))
        owners: dict[str, int] = {}
        for worker, claimed in enumerate(claims):
            for delivery in claimed:
                assert owners.setdefault(delivery.tenant_id, worker) == worker, (round_, delivery.tenant_id)
        assert sorted(owners) == tenants  # every line went to someone …
        assert sorted(d.event_position for c in claims for d in c) == sorted(list(range(1, 6)) * len(tenants))
        async with storage.unit_of_work() as uow:  # … and comes free again for the next round
            await uow.webhooks.release([d.id for c in claims for d in c], lease.holder)


async def test_a_lease_that_ran_out_is_claimed_again_and_retries_wait_their_turn(storage):
    await _subscribed(storage, _delivery(1))
    (first,) = await storage.webhooks.claim_due(NOW, _lease(), 10, 1)
    later = NOW + timedelta(seconds=31)
    (again,) = await storage.webhooks.claim_due(later, _lease(later, "worker-2"), 10, 1)  # the worker died
    assert again.id == first.id and again.payload == b'{"n": 1}'
    failed = DeliveryAttempt(at=later, status_code=503, latency_ms=1.0, error="HTTP 503")
    retry_at = later + timedelta(seconds=5)
    await storage.webhooks.record_attempt(first.id, failed, DeliveryState.PENDING, retry_at, "worker-2")
    assert await storage.webhooks.claim_due(later, _lease(later, "worker-2"), 10, 1) == []
    (due,) = await storage.webhooks.claim_due(retry_at, _lease(retry_at), 10, 1)
    assert due.attempts == [failed]


async def test_deliveries_are_queued_once_listed_newest_first_requeued_and_go_with_their_webhook(storage):
    await _subscribed(storage, _delivery(1), _delivery(2))
    async with storage.unit_of_work() as uow:
        await uow.webhooks.enqueue([_delivery(1)])  # the same event again: ignored
    listed = await storage.webhooks.deliveries("wh_1", 10)
    assert [d.id for d in listed] == ["dlv_2_t_a", "dlv_1_t_a"]
    assert [d.id for d in await storage.webhooks.deliveries("wh_1", 10, before="dlv_2_t_a")] == ["dlv_1_t_a"]
    failed = DeliveryAttempt(at=NOW, status_code=None, latency_ms=1.0, error="timed out")
    await storage.webhooks.record_attempt("dlv_1_t_a", failed, DeliveryState.FAILED, NOW, "nobody")
    async with storage.unit_of_work() as uow:
        again = await uow.webhooks.requeue("wh_1", "dlv_1_t_a", NOW)
        assert await uow.webhooks.requeue("wh_other", "dlv_1_t_a", NOW) is None
    assert again.state is DeliveryState.PENDING and again.attempts == [failed]
    async with storage.unit_of_work() as uow:
        assert await uow.webhooks.remove("wh_1")
    assert await storage.webhooks.deliveries("wh_1", 10) == []
    assert await storage.webhooks.get("wh_1") is None


async def test_webhooks_round_trip(storage):
    async with storage.unit_of_work() as uow:
        await uow.webhooks.add(_webhook("wh_1"))
        await uow.webhooks.add(_webhook("wh_2"))
    changed = _webhook("wh_2")
    changed = Webhook(
        **{**{f: getattr(changed, f) for f in changed.__struct_fields__}, "status": WebhookStatus.FAILING}
    )
    async with storage.unit_of_work() as uow:
        assert await uow.webhooks.replace(changed) == changed
        assert await uow.webhooks.replace(_webhook("wh_missing")) is None
    assert [w.id for w in await storage.webhooks.list()] == ["wh_1", "wh_2"]
    assert await storage.webhooks.get("wh_2") == changed


async def test_a_line_is_claimed_in_order_up_to_its_limit_and_released_whole(storage):
    await _subscribed(storage, _delivery(1), _delivery(2), _delivery(3), _delivery(4, "t_b"))
    lease = _lease()
    claimed = await storage.webhooks.claim_due(NOW, lease, 10, 2)
    assert [d.id for d in claimed] == ["dlv_1_t_a", "dlv_2_t_a", "dlv_4_t_b"]
    assert await storage.webhooks.claim_due(NOW, lease, 10, 2) == []  # every line is held
    await storage.webhooks.release(["dlv_1_t_a", "dlv_2_t_a"], "someone else")  # not the holder: no effect
    assert await storage.webhooks.claim_due(NOW, lease, 10, 5) == []
    await storage.webhooks.release(["dlv_1_t_a", "dlv_2_t_a"], lease.holder)
    assert [d.id for d in await storage.webhooks.claim_due(NOW, lease, 10, 5)] == [
        "dlv_1_t_a",
        "dlv_2_t_a",
        "dlv_3_t_a",
    ]


async def test_a_holder_that_renews_keeps_its_line_until_it_stops_and_then_loses_it_whole(storage):
    """The lease rule: a claim lasts while its holder renews it, however long the line takes; once the holder
    stops renewing, the line goes to another worker after one lease, and the late holder can neither renew,
    release nor (by recording its late attempt) free the new holder's claim."""
    await _subscribed(storage, _delivery(1), _delivery(2), _delivery(3))
    claimed = await storage.webhooks.claim_due(NOW, _lease(NOW, "worker-1"), 10, 3)
    assert [d.id for d in claimed] == ["dlv_1_t_a", "dlv_2_t_a", "dlv_3_t_a"]
    ok = DeliveryAttempt(at=NOW, status_code=204, latency_ms=1.0)
    at = NOW + timedelta(seconds=20)
    async with storage.unit_of_work() as uow:
        await uow.webhooks.record_attempt("dlv_1_t_a", ok, DeliveryState.DELIVERED, at, "worker-1")
        assert await uow.webhooks.renew(["dlv_2_t_a", "dlv_3_t_a"], _lease(at, "worker-1"))
    past_first_lease = NOW + timedelta(seconds=35)
    assert await storage.webhooks.claim_due(past_first_lease, _lease(past_first_lease, "worker-2"), 10, 3) == []

    stopped = NOW + timedelta(seconds=51)  # worker-1 renewed last until NOW + 50, then went quiet
    taken = await storage.webhooks.claim_due(stopped, _lease(stopped, "worker-2"), 10, 3)
    assert [d.id for d in taken] == ["dlv_2_t_a", "dlv_3_t_a"]
    soon = stopped + timedelta(seconds=1)
    late = DeliveryAttempt(at=stopped, status_code=None, latency_ms=9000.0, error="timed out")
    async with storage.unit_of_work() as uow:  # worker-1 wakes up: its attempt is recorded, the line stays lost
        await uow.webhooks.record_attempt("dlv_2_t_a", late, DeliveryState.PENDING, soon, "worker-1")
        assert not await uow.webhooks.renew(["dlv_2_t_a", "dlv_3_t_a"], _lease(stopped, "worker-1"))
        await uow.webhooks.release(["dlv_2_t_a", "dlv_3_t_a"], "worker-1")
    assert await storage.webhooks.claim_due(soon, _lease(soon, "worker-3"), 10, 3) == []  # still worker-2's


async def test_renewal_is_all_or_nothing_and_only_for_pending_deliveries(storage):
    await _subscribed(storage, _delivery(1), _delivery(2))
    lease = _lease(NOW, "worker-1")
    await storage.webhooks.claim_due(NOW, lease, 10, 1)  # only the head
    assert await storage.webhooks.renew([], lease)  # nothing left to hold
    assert not await storage.webhooks.renew(["dlv_1_t_a", "dlv_2_t_a"], _lease(NOW, "worker-1", 60))
    later = NOW + timedelta(seconds=31)
    assert [d.id for d in await storage.webhooks.claim_due(later, _lease(later, "worker-2"), 10, 1)] == ["dlv_1_t_a"]
    ok = DeliveryAttempt(at=later, status_code=204, latency_ms=1.0)
    await storage.webhooks.record_attempt("dlv_1_t_a", ok, DeliveryState.DELIVERED, later, "worker-2")
    assert not await storage.webhooks.renew(["dlv_1_t_a"], _lease(later, "worker-2"))  # delivered: nothing to hold
