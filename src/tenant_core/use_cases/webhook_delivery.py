"""Delivering events to webhook subscriptions: what every worker of ``serve`` runs in a loop.

Fan new events out to the subscriptions that want them, then send due deliveries line by line (a subscription
and a tenant), in feed order. Each step claims its work in the database, so any number of workers and
instances share it without duplicating it (deliveries are at least once: a delivery is sent again only after
an attempt failed, or after its sender stopped mid-attempt).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from tenant_core.errors import CredentialsUnreadableError
from tenant_core.ports import Clock, Storage, WebhookSender
from tenant_core.sealed_kinds import WEBHOOK_SECRETS
from tenant_core.sealing import SealedValues
from tenant_core.webhooks import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_RETRY_SCHEDULE,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Lease,
    Webhook,
    WebhookStatus,
    delivery_lease,
    retry_delay,
)

#: The feed consumer whose position says how far fan-out has got.
WEBHOOK_FAN_OUT = "webhooks"

#: How often the fan-out walks past the events while there are no subscriptions.
IDLE_FAN_OUT_EVERY = timedelta(seconds=10)


class FailedDelivery(msgspec.Struct, frozen=True):
    """A delivery attempt that failed, as told to ``on_failed_attempt``. It names the subscription, never its
    URL (which may carry credentials), its secret or the payload."""

    webhook_id: str
    tenant_id: str
    event_id: str
    event_type: str
    delivery_id: str
    attempt: int  #: 1 for the first attempt
    reason: str  #: "HTTP 500", "timed out after 10 s", "signing secret unreadable: …"
    status_code: int | None
    next_attempt_at: datetime | None  #: None: no attempt is left, the delivery failed
    subscription_failing: bool  #: this attempt turned its subscription ``failing``


class WebhookDelivery:
    """The delivery work; each method does one batch and says how much it did (0: nothing to do).

    ``on_failed_attempt`` hears of every failed attempt once it is recorded (the service logs it)."""

    def __init__(
        self,
        storage: Storage,
        sealed: SealedValues,
        sender: WebhookSender,
        clock: Clock,
        retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE,
        attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT,
        on_failed_attempt: Callable[[FailedDelivery], None] | None = None,
    ) -> None:
        self._on_failed_attempt = on_failed_attempt
        self._storage = storage
        self._sealed = sealed
        self._sender = sender
        self._clock = clock
        self._schedule = retry_schedule
        self._attempt_timeout = attempt_timeout
        self._lease = delivery_lease(attempt_timeout)
        self._walked_past_at: datetime | None = None
        self._subscribed = True  # as of the last fan-out: without subscriptions no delivery can be due
        self._stopping = False

    async def fan_out(self, batch: int = 200) -> int:
        """Queue one delivery per new event and subscription that wants it, and move the fan-out's position,
        in one transaction: a crash queues the batch again, and duplicates are ignored."""
        self._subscribed = bool(await self._storage.webhooks.list())
        if not self._subscribed:
            # Nobody subscribed: nothing to queue. The position still moves now and then (a subscription only
            # wants events written after it was created), so a first subscription finds no backlog to walk.
            now = self._clock.now()
            if self._walked_past_at is not None and now - self._walked_past_at < IDLE_FAN_OUT_EVERY:
                return 0
            self._walked_past_at = now
        async with self._storage.unit_of_work() as uow:
            position = await uow.consumers.claim(WEBHOOK_FAN_OUT)
            if position is None:
                return 0  # another worker is fanning out
            # Subscriptions are listed after the events are read: one committed before an event is then listed
            # (statements see what committed before them), so no event it wants is walked past.
            newest = await uow.events.newest()
            if newest <= position:
                return 0
            if not self._subscribed and not await uow.webhooks.list():
                await uow.consumers.advance(WEBHOOK_FAN_OUT, newest)  # nobody to deliver to: walk past, unread
                return 0
            events = await uow.events.read(position, batch)
            if not events:
                return 0
            webhooks = await uow.webhooks.list()
            now = self._clock.now()
            queued = [
                Delivery(
                    id="dlv_" + secrets.token_hex(10),
                    webhook_id=webhook.id,
                    event_id=event.id,
                    event_type=event.type,
                    event_position=event.position or 0,
                    tenant_id=event.subject,
                    state=DeliveryState.PENDING,
                    attempts=[],
                    next_attempt_at=now,
                    created_at=now,
                    payload=msgspec.json.encode(event.cloud_event()),
                )
                for event in events
                for webhook in webhooks
                if webhook.wants(event)
            ]
            await uow.webhooks.enqueue(queued)
            await uow.consumers.advance(WEBHOOK_FAN_OUT, events[-1].position or position)
        return len(events)

    def stop(self) -> None:
        """Hand the lines over (the process is stopping): each attempt in flight finishes and is recorded, the
        rest of its line is released for another worker at once instead of a lease later, and nothing new is
        claimed."""
        self._stopping = True

    async def send_due(self, lines: int = 20, per_line: int = 20) -> int:
        """Send what is due: for each subscription-and-tenant line, its pending deliveries in feed order,
        stopping at the first that fails (the rest wait for it, so a tenant's events never overtake)."""
        if not self._subscribed or self._stopping:
            return 0  # deliveries go with their subscription: none can be waiting
        now = self._clock.now()
        lease = Lease(holder=secrets.token_hex(8), until=now + self._lease)
        claimed = await self._storage.webhooks.claim_due(now, lease, lines, per_line)
        queues: dict[tuple[str, str], list[Delivery]] = {}
        for delivery in claimed:
            queues.setdefault((delivery.webhook_id, delivery.tenant_id), []).append(delivery)
        sent = await asyncio.gather(*(self._send_line(queue, lease.holder) for queue in queues.values()))
        return sum(sent)

    async def _send_line(self, queue: list[Delivery], holder: str) -> int:
        """The line's deliveries in order, with one lookup of their subscription and its secret, for as long
        as the line is still this claim's (each recorded attempt renews the claim on the rest)."""
        webhook = await self._storage.webhooks.get(queue[0].webhook_id)
        if webhook is None:
            return 0  # unsubscribed meanwhile; its deliveries went with it
        try:
            secret: str | None = self._sealed.open(
                WEBHOOK_SECRETS, (webhook.id,), webhook.key_id, webhook.sealed_secret
            ).decode()
        except CredentialsUnreadableError:  # reported (logged at ERROR) by SealedValues
            secret = None  # its key is not configured here (yet): each attempt fails and is retried
        for n, delivery in enumerate(queue):
            if not await self._send(webhook, secret, delivery, [d.id for d in queue[n + 1 :]], holder):
                return n + 1
        return len(queue)

    async def _send(
        self, webhook: Webhook, secret: str | None, delivery: Delivery, rest: list[str], holder: str
    ) -> bool:
        """One attempt, recorded with the claim on the ``rest`` of the line renewed (when it was delivered) or
        released (when not); True when the line goes on: delivered, and the rest still this claim's."""
        attempt = await self._attempt(webhook, secret, delivery)
        delivered = attempt.status_code is not None and 200 <= attempt.status_code < 300
        delay = None if delivered else retry_delay(len(delivery.attempts) + 1, self._schedule)
        now = self._clock.now()
        if delivered:
            state, next_at = DeliveryState.DELIVERED, now
        elif delay is None:
            state, next_at = DeliveryState.FAILED, now
        else:
            state, next_at = DeliveryState.PENDING, now + timedelta(seconds=delay)
        async with self._storage.unit_of_work() as uow:
            await uow.webhooks.record_attempt(delivery.id, attempt, state, next_at, holder)
            # The rest waits for this one when it failed, and goes to another worker when this one stops; when
            # it went, the claim lasts one more attempt.
            renewed = Lease(holder, now + self._lease)
            goes_on = delivered and not self._stopping and await uow.webhooks.renew(rest, renewed)
            if not goes_on:
                await uow.webhooks.release(rest, holder)
            status = {DeliveryState.DELIVERED: WebhookStatus.ACTIVE, DeliveryState.FAILED: WebhookStatus.FAILING}
            wanted = status.get(state)
            current = await uow.webhooks.get(webhook.id)
            turned_failing = False
            if wanted and current and current.status not in (wanted, WebhookStatus.DISABLED):
                await uow.webhooks.replace(msgspec.structs.replace(current, status=wanted, updated_at=now))
                turned_failing = wanted is WebhookStatus.FAILING
        if not delivered and self._on_failed_attempt is not None:
            self._on_failed_attempt(
                FailedDelivery(
                    webhook_id=webhook.id,
                    tenant_id=delivery.tenant_id,
                    event_id=delivery.event_id,
                    event_type=delivery.event_type,
                    delivery_id=delivery.id,
                    attempt=len(delivery.attempts) + 1,
                    reason=attempt.error or f"HTTP {attempt.status_code}",
                    status_code=attempt.status_code,
                    next_attempt_at=next_at if state is DeliveryState.PENDING else None,
                    subscription_failing=turned_failing,
                )
            )
        return goes_on

    async def _attempt(self, webhook: Webhook, secret: str | None, delivery: Delivery) -> DeliveryAttempt:
        """Send once, cut off at the attempt timeout whatever the sender does: the lease covers that long."""
        at = self._clock.now()
        if secret is None:
            return DeliveryAttempt(at, None, 0.0, "signing secret unreadable: its key is not configured")
        try:
            async with asyncio.timeout(self._attempt_timeout):
                return await self._sender.send(webhook.url, secret, delivery.event_id, delivery.payload)
        except TimeoutError:
            took = (self._clock.now() - at).total_seconds() * 1000
            return DeliveryAttempt(at, None, round(took, 3), f"timed out after {self._attempt_timeout:g} s")
