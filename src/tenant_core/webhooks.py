"""Webhook subscriptions and their deliveries: entities and the rules that need no I/O.

A subscription names a URL, the event types it wants and optionally one tenant. Each matching event
becomes one delivery per subscription, tried until the receiver answers 2xx or the retry schedule (about a
day) runs out, after which the delivery is ``failed`` and the subscription ``failing``. Deliveries of one
subscription and tenant go out in feed order: a delivery waits while an earlier one is still pending.

One sender per line: a worker claims a line under a :class:`Lease` that holds for one attempt
(:func:`delivery_lease`) and renews it with each attempt it records, so the claim lasts for as long as its
holder sends and ends one lease after the holder stops (crashed, hung, cut off from the database).
"""

from __future__ import annotations

import enum
import random
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from msgspec import Meta

from tenant_core.change_events import ChangeEvent

#: Seconds before each retry (±20% jitter): 5 s growing to 8 h, eleven attempts over about 24 hours.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800)

#: Seconds one delivery attempt may take (``WEBHOOK_TIMEOUT_SECONDS``); the worker cuts it off there.
DEFAULT_ATTEMPT_TIMEOUT = 10.0
#: A lease's time beyond the attempt it covers: recording the attempt and renewing the lease, on a slow database.
LEASE_MARGIN = timedelta(seconds=5)


def delivery_lease(attempt_timeout_seconds: float) -> timedelta:
    """How long a claim on a line holds unrenewed: one attempt (cut off at its timeout) plus the margin to
    record it. Its holder renews it as it records each attempt, so the claim outlasts the holder's work
    however long the line, and another worker takes the line over (sending again what was in flight) only
    after the holder stopped renewing for this long."""
    return timedelta(seconds=attempt_timeout_seconds) + LEASE_MARGIN


class Lease(msgspec.Struct, frozen=True):
    """A claim on the deliveries of a line: who holds it (one token per claim) and until when."""

    holder: str
    until: datetime


class WebhookStatus(enum.StrEnum):
    """Whether a subscription receives events: ``active``, ``failing`` (a delivery ran out of retries), ``disabled``."""

    ACTIVE = "active"
    FAILING = "failing"  # a delivery ran out of retries; the next success makes it active again
    DISABLED = "disabled"  # paused by an operator: events are not queued for it


class DeliveryState(enum.StrEnum):
    """Where a delivery stands: ``pending`` (retrying), ``delivered`` or ``failed`` (retries ran out)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(msgspec.Struct, frozen=True):
    """A subscription: where to send which events (of one tenant, or all), and its sealed signing secret."""

    id: str
    url: str
    event_types: list[str]
    tenant_id: str | None
    description: str | None
    status: WebhookStatus
    key_id: str  # which cipher key sealed the signing secret
    sealed_secret: bytes
    created_at: datetime
    updated_at: datetime

    def wants(self, event: ChangeEvent) -> bool:
        """Events of its types (and tenant) written since it was created; a disabled one wants none."""
        return (
            self.status is not WebhookStatus.DISABLED
            and event.type in self.event_types
            and (self.tenant_id is None or self.tenant_id == event.subject)
            and event.time >= self.created_at
        )


class DeliveryAttempt(msgspec.Struct, frozen=True):
    """One try of a delivery: when, the receiver's status (``None``: no HTTP answer), how long, why not."""

    at: datetime
    status_code: int | None  # None: no HTTP answer (refused, timed out, address not allowed)
    latency_ms: float
    error: str | None = None


class Delivery(msgspec.Struct, frozen=True):
    """One event on its way to one subscription: its state, every attempt, and the exact body sent."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    event_position: int
    tenant_id: str
    state: DeliveryState
    attempts: list[DeliveryAttempt]
    next_attempt_at: datetime
    created_at: datetime
    payload: bytes  # the exact body every attempt sends, so a receiver sees one message however often it comes


WebhookUrl = Annotated[str, Meta(min_length=1, max_length=2048, examples=["https://example.com/hooks/tenants"])]
#: Each an :class:`EventType`, judged by :func:`~tenant_core.change_events.checked_event_types` (the feed's filter
#: too); the published contract lists them as an enum.
EventTypes = Annotated[
    list[Annotated[str, Meta(description="An event type")]],
    Meta(min_length=1, max_length=20, description="The event types to deliver"),
]
WebhookTenant = Annotated[str, Meta(max_length=128, description="Only this tenant's events")]
WebhookDescription = Annotated[str, Meta(max_length=500)]


class NewWebhook(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    """``POST /webhooks``: subscribe ``url`` to ``event_types`` (of every tenant, or of ``tenant_id``)."""

    url: WebhookUrl
    event_types: EventTypes
    tenant_id: WebhookTenant | None = None
    description: WebhookDescription | None = None


class WebhookChange(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel", forbid_unknown_fields=True):
    """``PATCH /webhooks/{id}``: a partial change; ``UNSET`` fields stay as they are."""

    url: WebhookUrl | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType = msgspec.UNSET
    tenant_id: WebhookTenant | None | msgspec.UnsetType = msgspec.UNSET
    description: WebhookDescription | None | msgspec.UnsetType = msgspec.UNSET
    status: Annotated[WebhookStatus, Meta(description="`disabled` pauses it; `active` resumes")] | msgspec.UnsetType = (
        msgspec.UNSET
    )


class CreatedWebhook(msgspec.Struct, frozen=True):
    """A new subscription and its signing secret (``whsec_…``), which is shown only here."""

    webhook: Webhook
    secret: str  # ``whsec_…``, shown once


def retry_delay(attempts_made: int, schedule: tuple[float, ...]) -> float | None:
    """Seconds until the next try after ``attempts_made`` failures (with jitter), or ``None``: give up."""
    if attempts_made > len(schedule):
        return None
    base = schedule[attempts_made - 1]
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
