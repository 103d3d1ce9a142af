"""Change events, the feed and webhook delivery as use cases on the in-memory adapters."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from dataclasses import field as default
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tenant_adapters.memory import InMemoryEventBus, InMemoryWebhookSender
from tenant_adapters.webhooks.sender import HttpWebhookSender
from tenant_core import (
    SYSTEM,
    CursorExpiredError,
    EventFeed,
    EventRelay,
    ForbiddenError,
    ManualClock,
    NewWebhook,
    Principal,
    Role,
    SystemClock,
    TenantDirectory,
    UpdateTenant,
    ValidationFailedError,
    WebhookChange,
    WebhookDelivery,
    WebhookStatus,
    WebhookSubscriptions,
)
from tenant_core.change_events import events_for
from tenant_core.entities import TenantStatus
from tenant_core.webhooks import DeliveryAttempt
from tenant_entrypoints import event_worker
from tenant_entrypoints.event_worker import EventWorker
from tests.support.builders import create_command, tenant


@pytest.fixture
def sender() -> InMemoryWebhookSender:
    return InMemoryWebhookSender()


@pytest.fixture
def bus() -> InMemoryEventBus:
    return InMemoryEventBus()


@pytest.fixture
def feed(storage) -> EventFeed:
    return EventFeed(storage)


@pytest.fixture
def subscriptions(storage, sealed, sender, tenant_cache, clock) -> WebhookSubscriptions:
    return WebhookSubscriptions(storage, sealed, sender, TenantDirectory(storage.tenants, tenant_cache), clock)


@pytest.fixture
def delivery(storage, sealed, sender, clock, bus) -> WebhookDelivery:
    return WebhookDelivery(storage, sealed, sender, clock, retry_schedule=(0.0, 0.0))


# -- what each change publishes ---------------------------------------------------------------------------


def test_status_changes_are_named_for_what_they_do():
    before = tenant()
    after = msgspec.structs.replace(before, status=TenantStatus.SUSPENDED)
    now = before.created_at
    assert [e.type for e in events_for("tenant.updated", before.id, now, before=before, after=after)] == [
        "tenant.suspended"
    ]
    assert [e.type for e in events_for("tenant.updated", before.id, now, before=after, after=before)] == [
        "tenant.reactivated"
    ]
    renamed = msgspec.structs.replace(before, name="New")
    assert [e.type for e in events_for("tenant.updated", before.id, now, before=before, after=renamed)] == [
        "tenant.updated"
    ]


def test_a_moved_lookup_key_adds_routing_changed_with_old_and_new_values():
    before = tenant(phone_number_id="111")
    after = msgspec.structs.replace(before, phone_number_id="222")
    events = events_for("tenant.updated", before.id, before.created_at, before=before, after=after)
    assert [e.type for e in events] == ["tenant.updated", "tenant.routing_changed"]
    assert events[1].data["previous"]["phoneNumberId"] == "111"
    assert events[1].data["current"]["phoneNumberId"] == "222"


def test_reads_publish_nothing_and_credentials_carry_only_their_type():
    assert events_for("credentials.revealed", "t_1", tenant().created_at) == []
    (event,) = events_for("credentials.stored", "t_1", tenant().created_at, detail={"credentialType": "genesys"})
    assert event.data == {"credentialType": "genesys"}


def test_every_audit_action_has_an_event_decision():
    """The table of what each audited change publishes covers every audit action, no more and no less."""
    from tenant_core.audit import AuditAction
    from tenant_core.change_events import PUBLISHES

    assert set(PUBLISHES) == {action.value for action in AuditAction}


def test_an_action_without_a_decision_is_refused_not_silent():
    """A change whose action nobody decided events for fails (inside its transaction) instead of publishing
    nothing."""
    with pytest.raises(LookupError, match="tenant.renamed"):
        events_for("tenant.renamed", "t_1", tenant().created_at, before=tenant(), after=tenant())


def test_a_soft_delete_by_patch_publishes_tenant_deleted():
    before = tenant()
    after = msgspec.structs.replace(before, status=TenantStatus.DELETED)
    events = events_for("tenant.updated", before.id, before.created_at, before=before, after=after)
    assert [e.type for e in events] == ["tenant.deleted"]
    assert events[0].data["tenant"]["status"] == "deleted"


async def test_storing_and_deleting_whatsapp_publish_the_tenant_fields_they_move(
    tenants, storage, sealed, clock, tenant_cache, directory, feed
):
    """whatsappConfigured and the number move with the credential: subscribers to tenant.updated hear of it."""
    from tenant_core import CredentialType, CredentialVault

    vault = CredentialVault(storage, sealed, tenant_cache, directory, clock)
    created = (await tenants.create(SYSTEM, create_command())).tenant
    after = (await feed.read(SYSTEM)).next
    whatsapp = {"accessToken": "EAAG-token-1234567", "phoneNumberId": "1555", "wabaId": "777"}
    await vault.store(SYSTEM, created.id, CredentialType.WHATSAPP, whatsapp)
    await vault.delete(SYSTEM, created.id, CredentialType.WHATSAPP)
    events = (await feed.read(SYSTEM, after=after)).events
    assert [e.type for e in events] == [
        "credentials.updated", "tenant.updated", "tenant.routing_changed",
        "credentials.deleted", "tenant.updated", "tenant.routing_changed",
    ]  # fmt: skip
    assert events[1].data["changedFields"] == ["phoneNumberId", "whatsappConfigured"]
    assert events[1].data["tenant"]["whatsappConfigured"] is True
    assert events[4].data["tenant"]["whatsappConfigured"] is False


async def test_a_soft_delete_through_the_use_case_reaches_tenant_deleted_subscribers(tenants, feed):
    created = (await tenants.create(SYSTEM, create_command())).tenant
    after = (await feed.read(SYSTEM)).next
    await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.DELETED))
    assert [e.type for e in (await feed.read(SYSTEM, after=after, types=["tenant.deleted"])).events] == [
        "tenant.deleted"
    ]


async def test_each_use_case_writes_its_events_in_the_same_transaction(tenants, feed):
    created = await tenants.create(SYSTEM, create_command(phone_number_id="1555"))
    await tenants.update(SYSTEM, created.tenant.id, UpdateTenant(status=TenantStatus.SUSPENDED))
    page = await feed.read(SYSTEM)
    assert [e.type for e in page.events] == [
        "tenant.created",
        "tenant.routing_changed",
        "api_key.created",
        "tenant.suspended",
    ]
    assert page.next == str(page.events[-1].position)


# -- the feed ----------------------------------------------------------------------------------------------


async def test_a_tenant_reads_only_its_own_events(tenants, feed):
    mine = (await tenants.create(SYSTEM, create_command())).tenant.id
    other = (await tenants.create(SYSTEM, create_command())).tenant.id
    me = Principal(subject="k", role=Role.TENANT, tenant_id=mine)
    assert {e.subject for e in (await feed.read(me)).events} == {mine}
    with pytest.raises(ForbiddenError):
        await feed.read(me, tenant_id=other)


async def test_a_cursor_behind_the_horizon_is_refused(tenants, feed, storage, clock):
    await tenants.create(SYSTEM, create_command())
    await tenants.create(SYSTEM, create_command())
    assert await feed.prune(clock.now() + timedelta(days=31)) == 4
    with pytest.raises(CursorExpiredError):
        await feed.read(SYSTEM, after="1")
    assert (await feed.read(SYSTEM)).events == []


async def test_bad_cursors_and_types_name_the_parameter(feed):
    with pytest.raises(ValidationFailedError, match="after"):
        await feed.read(SYSTEM, after="12a")
    with pytest.raises(ValidationFailedError, match="type"):
        await feed.read(SYSTEM, types=["tenant.nope"])


async def test_an_in_process_subscriber_follows_events_as_they_commit(tenants, feed):
    seen = []

    async def subscriber() -> None:
        async for event in feed.follow(SYSTEM, types=["tenant.created"], poll_seconds=5):
            seen.append(event.subject)
            if len(seen) == 2:
                return

    following = asyncio.create_task(subscriber())
    await asyncio.sleep(0.01)
    first = (await tenants.create(SYSTEM, create_command())).tenant.id
    second = (await tenants.create(SYSTEM, create_command())).tenant.id
    await asyncio.wait_for(following, 2)  # woken by each commit, not by the 5 s poll
    assert seen == [first, second]


# -- webhooks ----------------------------------------------------------------------------------------------


async def test_a_worker_round_that_fills_a_batch_is_behind_and_the_next_takes_the_rest(
    storage, tenants, subscriptions, delivery, feed, sender, clock, monkeypatch
):
    monkeypatch.setattr(event_worker, "FAN_OUT_BATCH", 5)
    await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.created"]))
    for _ in range(4):
        await tenants.create(SYSTEM, create_command())  # tenant.created and api_key.created each
    worker = EventWorker(storage, delivery, feed, clock, retention_days=30)

    assert await worker.step() == (True, True)  # five of eight events fanned out: more is waiting, no pause
    assert len(sender.sent) == 3
    assert await worker.step() == (True, False)  # the last three
    assert await worker.step() == (False, False)  # nothing left: the worker waits for a commit
    assert len(sender.sent) == 4


async def test_subscriptions_are_admin_only_and_their_secret_is_sealed(subscriptions, storage):
    with pytest.raises(ForbiddenError):
        await subscriptions.create(
            Principal("svc", Role.SERVICE), NewWebhook("https://x.example/h", ["tenant.created"])
        )
    created = await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.created"]))
    assert created.secret.startswith("whsec_")
    stored = await storage.webhooks.get(created.webhook.id)
    assert created.secret.encode() not in stored.sealed_secret


async def test_refused_urls_and_unknown_tenants_are_validation_errors(subscriptions, sender):
    sender.refused_hosts.add("10.0.0.1")
    for new, field in [
        (NewWebhook("http://10.0.0.1/h", ["tenant.created"]), "url"),
        (NewWebhook("https://x.example/h", ["tenant.created"], tenant_id="t_missing"), "tenantId"),
        (NewWebhook("https://x.example/h", ["nope"]), "eventTypes"),
    ]:
        with pytest.raises(ValidationFailedError, match=field):
            await subscriptions.create(SYSTEM, new)
    created = await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.created"]))
    with pytest.raises(ValidationFailedError, match="url"):
        await subscriptions.update(SYSTEM, created.webhook.id, WebhookChange(url="http://10.0.0.1/h"))
    assert (await subscriptions.get(SYSTEM, created.webhook.id)).url == "https://x.example/h"


async def test_matching_events_are_delivered_once_each_in_order(subscriptions, delivery, sender, tenants):
    await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.updated"]))
    created = (await tenants.create(SYSTEM, create_command())).tenant.id
    for name in ("One", "Two"):
        await tenants.update(SYSTEM, created, UpdateTenant(name=name))
    await delivery.fan_out()
    while await delivery.send_due():
        pass
    assert [s.event["data"]["tenant"]["name"] for s in sender.sent] == ["One", "Two"]
    assert await delivery.fan_out() == 0  # the position moved: nothing is queued twice


async def test_a_delivery_that_keeps_failing_marks_its_subscription_failing(subscriptions, delivery, sender, tenants):
    hook = (await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.created"]))).webhook
    sender.statuses = [500, 500, 500]  # the first try and both retries of the schedule
    await tenants.create(SYSTEM, create_command())
    await delivery.fan_out()
    while await delivery.send_due():
        pass
    (failed,) = await subscriptions.deliveries(SYSTEM, hook.id)
    assert failed.state == "failed" and [a.status_code for a in failed.attempts] == [500, 500, 500]
    assert (await subscriptions.get(SYSTEM, hook.id)).status is WebhookStatus.FAILING
    await subscriptions.retry(SYSTEM, hook.id, failed.id)
    await delivery.send_due()
    assert (await subscriptions.get(SYSTEM, hook.id)).status is WebhookStatus.ACTIVE


async def test_the_bus_relay_keeps_its_place_through_an_outage(storage, bus, tenants):
    relay = EventRelay(storage, bus)
    await tenants.create(SYSTEM, create_command())
    bus.down = True
    with pytest.raises(Exception, match="down"):
        await relay.relay()
    bus.down = False
    assert await relay.relay() == 2
    assert [e.type for e in bus.published] == ["tenant.created", "api_key.created"]
    assert await relay.relay() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/h",
        "http://10.1.2.3/h",
        "http://[::1]/h",
        "http://169.254.169.254/latest",
        "http://localhost/h",
    ],
)
async def test_private_addresses_are_refused_unless_allowed(url):
    assert "non-public" in (await HttpWebhookSender().refusal(url) or "")
    assert await HttpWebhookSender(allow_private=True).refusal(url) is None


async def test_non_http_urls_and_urls_with_credentials_are_refused():
    sender = HttpWebhookSender(allow_private=True)
    assert await sender.refusal("file:///etc/passwd") is not None
    assert await sender.refusal("https://user:pw@example.com/h") is not None


async def test_a_secret_that_cannot_be_opened_is_a_failed_attempt_not_a_stalled_worker(
    storage, sender, clock, tenants, tenant_cache
):
    """An unopenable secret fails the attempt (retried later) and is reported: kind, subscription, key id."""
    from tenant_adapters.crypto import AesGcmCipher
    from tenant_core.sealing import SealedValues

    reported = []
    sealing = SealedValues(AesGcmCipher({"x": b"x" * 32}))
    other = SealedValues(AesGcmCipher({"y": b"y" * 32}), on_unreadable=reported.append)
    directory = TenantDirectory(storage.tenants, tenant_cache)
    hook = (
        await WebhookSubscriptions(storage, sealing, sender, directory, clock).create(
            SYSTEM, NewWebhook("https://x.example/h", ["tenant.created"])
        )
    ).webhook
    elsewhere = WebhookDelivery(storage, other, sender, clock, retry_schedule=(60.0,))  # another key set
    await tenants.create(SYSTEM, create_command())
    await elsewhere.fan_out()
    assert await elsewhere.send_due() == 1
    (attempted,) = await storage.webhooks.deliveries(hook.id, 10)
    assert attempted.state == "pending" and "unreadable" in attempted.attempts[0].error
    assert sender.sent == []
    assert [(r.kind, r.record, r.key_id) for r in reported] == [("webhook_secrets", {"webhook_id": hook.id}, "x")]


@dataclass
class SlowSender(InMemoryWebhookSender):
    """Each attempt takes ``seconds`` of the clock and yields meanwhile, so another worker runs its rounds;
    counts attempts made while another of the same tenant was in flight."""

    clock: ManualClock | None = None
    seconds: float = 4.0
    in_flight: Counter = default(default_factory=Counter)
    overlapping: int = 0

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> DeliveryAttempt:
        tenant_id = msgspec.json.decode(payload)["subject"]
        self.in_flight[tenant_id] += 1
        self.overlapping += self.in_flight[tenant_id] > 1
        for _ in range(4):
            await asyncio.sleep(0)
        self.clock.advance(self.seconds)
        self.in_flight[tenant_id] -= 1
        return await super().send(url, secret, message_id, payload)


async def _two_workers_on_a_backlog_of_eight(subscriptions, storage, sealed, tenants):
    """Eight renames of one tenant queued for one subscription, two workers that have both fanned them out, and
    the sender they share (4 s an attempt on a manual clock, with a 5 s attempt timeout: a 10 s lease)."""
    await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.updated"]))
    created = (await tenants.create(SYSTEM, create_command())).tenant.id
    for n in range(8):
        await tenants.update(SYSTEM, created, UpdateTenant(name=f"n{n}"))
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    sender = SlowSender(clock=clock)
    a, b = (WebhookDelivery(storage, sealed, sender, clock, attempt_timeout=5) for _ in range(2))
    await a.fan_out()
    await b.fan_out()
    return a, b, sender


async def test_a_line_longer_than_one_lease_stays_with_the_worker_sending_it(subscriptions, storage, sealed, tenants):
    """Worker A sends a backlog of 8 at 4 s each (32 s, three times the 10 s lease) while worker B keeps
    claiming: A's claim holds as long as A sends, so B never sends that line and nothing is sent twice."""
    a, b, sender = await _two_workers_on_a_backlog_of_eight(subscriptions, storage, sealed, tenants)
    a_sent = asyncio.create_task(a.send_due(per_line=50))
    await asyncio.sleep(0)  # A claims the line and starts sending
    b_sent = 0
    while not a_sent.done():
        b_sent += await b.send_due(per_line=50)
        await asyncio.sleep(0)
    assert (await a_sent, b_sent) == (8, 0)
    assert sender.overlapping == 0
    assert [s.event["data"]["tenant"]["name"] for s in sender.sent] == [f"n{n}" for n in range(8)]


class HangingSender(InMemoryWebhookSender):
    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> DeliveryAttempt:
        await asyncio.Event().wait()  # a receiver that never finishes answering
        raise AssertionError("unreachable")


async def test_an_attempt_is_cut_off_at_its_timeout_whatever_the_sender_does(subscriptions, storage, sealed, tenants):
    """The lease covers one attempt's timeout, so the worker ends the attempt there and records a failure."""
    hook = (await subscriptions.create(SYSTEM, NewWebhook("https://x.example/h", ["tenant.created"]))).webhook
    await tenants.create(SYSTEM, create_command())
    delivery = WebhookDelivery(storage, sealed, HangingSender(), SystemClock(), attempt_timeout=0.05)
    await delivery.fan_out()
    assert await asyncio.wait_for(delivery.send_due(), 5) == 1
    (attempted,) = await storage.webhooks.deliveries(hook.id, 10)
    assert attempted.state == "pending" and attempted.attempts[0].error == "timed out after 0.05 s"


async def test_a_stopping_worker_hands_the_rest_of_its_line_over_at_once(subscriptions, storage, sealed, tenants):
    """On stop, the attempt in flight is finished and recorded and the rest of the line is free for another
    worker straight away, not a lease later."""
    a, b, sender = await _two_workers_on_a_backlog_of_eight(subscriptions, storage, sealed, tenants)
    a_sent = asyncio.create_task(a.send_due(per_line=50))
    await asyncio.sleep(0)  # A claims the line and starts its first attempt
    a.stop()
    assert await a_sent == 1
    assert await a.send_due(per_line=50) == 0  # a stopped worker claims nothing new
    assert await b.send_due(per_line=50) == 7  # 4 s later, well within A's 10 s lease
    assert [s.event["data"]["tenant"]["name"] for s in sender.sent] == [f"n{n}" for n in range(8)]
