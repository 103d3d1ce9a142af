"""The event feed (``GET /events``) and webhook subscriptions (``/webhooks``, admin only)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from tenant_core import Principal
from tenant_core.change_events import ChangeEvent, EventType
from tenant_core.use_cases.events import EventFeed
from tenant_core.use_cases.webhook_subscriptions import WebhookSubscriptions
from tenant_core.webhooks import Delivery, NewWebhook, Webhook, WebhookChange, WebhookStatus

#: The feed's ``type`` filter as the feed reads it: known event types, comma-separated (spaces and empty entries
#: are ignored), so that the published pattern lists the types and refuses what the feed refuses.
EVENT_TYPE_FILTER = r"^[\s,]*(?:(?:" + "|".join(re.escape(t.value) for t in EventType) + r")\s*(?:,[\s,]*|$))*$"


class CloudEvent(msgspec.Struct):
    """A CloudEvents 1.0 event in structured JSON; ``sequence`` is its place in the feed (a cursor)."""

    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    data: dict[str, Any]
    sequence: str

    @classmethod
    def of(cls, event: ChangeEvent) -> CloudEvent:
        return msgspec.convert(event.cloud_event(), cls)


class EventList(msgspec.Struct):
    events: list[CloudEvent]
    next: Annotated[str, Meta(description="Pass as `after` to read on; it stays put when nothing new came")]


class EventController(Controller):
    path = "/events"
    tags = ["Events"]

    @get("/", summary="Change events in commit order, after a cursor (a tenant sees only its own)")
    async def read(
        self,
        events: NamedDependency[EventFeed],
        principal: NamedDependency[Principal],
        after: Annotated[
            str | None,
            QueryParameter(max_length=19, description="Cursor: a `next` (or an event's `sequence`); none: oldest kept"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, description="Page size; values over 100 are clamped")] = 100,
        event_type: Annotated[
            str | None,
            QueryParameter(
                name="type",
                max_length=1000,
                pattern=EVENT_TYPE_FILTER,
                description="Only these types, comma-separated: " + ", ".join(t.value for t in EventType),
            ),
        ] = None,
        tenant_id: Annotated[
            str | None, QueryParameter(name="tenantId", max_length=128, description="Only this tenant's events")
        ] = None,
    ) -> EventList:
        types = [event_type] if event_type else None
        page = await events.read(principal, after, limit, types, tenant_id)
        return EventList([CloudEvent.of(e) for e in page.events], page.next)


class WebhookView(msgspec.Struct, rename="camel"):
    id: str
    url: str
    event_types: list[str]
    tenant_id: str | None
    description: str | None
    status: WebhookStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookView:
        return cls(
            webhook.id,
            webhook.url,
            webhook.event_types,
            webhook.tenant_id,
            webhook.description,
            webhook.status,
            webhook.created_at,
            webhook.updated_at,
        )


class CreatedWebhookView(WebhookView):
    secret: str = ""  # the signing secret (whsec_…): shown only in this response


class WebhookList(msgspec.Struct):
    webhooks: list[WebhookView]


class AttemptView(msgspec.Struct, rename="camel"):
    at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None


class DeliveryView(msgspec.Struct, rename="camel"):
    id: str
    event_id: str
    event_type: str
    sequence: str
    tenant_id: str
    state: str
    attempts: list[AttemptView]
    next_attempt_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryView:
        pending = delivery.state == "pending"
        return cls(
            delivery.id,
            delivery.event_id,
            delivery.event_type,
            str(delivery.event_position),
            delivery.tenant_id,
            delivery.state.value,
            [AttemptView(a.at, a.status_code, a.latency_ms, a.error) for a in delivery.attempts],
            delivery.next_attempt_at if pending else None,
            delivery.created_at,
        )


class DeliveryList(msgspec.Struct):
    deliveries: list[DeliveryView]
    next: str | None  # pass as `before` for older deliveries


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["Webhooks"]

    @post("/", status_code=201, summary="Subscribe a URL to event types (its signing secret is shown only here)")
    async def create(
        self,
        data: JSONBody[NewWebhook],
        webhooks: NamedDependency[WebhookSubscriptions],
        principal: NamedDependency[Principal],
    ) -> CreatedWebhookView:
        created = await webhooks.create(principal, data)
        view = WebhookView.of(created.webhook)
        return CreatedWebhookView(**msgspec.structs.asdict(view), secret=created.secret)

    @get("/", summary="List webhook subscriptions")
    async def list_webhooks(
        self, webhooks: NamedDependency[WebhookSubscriptions], principal: NamedDependency[Principal]
    ) -> WebhookList:
        return WebhookList([WebhookView.of(w) for w in await webhooks.list(principal)])

    @get("/{webhook_id:str}", summary="One webhook subscription")
    async def get_webhook(
        self,
        webhook_id: FromPath[str],
        webhooks: NamedDependency[WebhookSubscriptions],
        principal: NamedDependency[Principal],
    ) -> WebhookView:
        return WebhookView.of(await webhooks.get(principal, webhook_id))

    @patch("/{webhook_id:str}", summary="Change a subscription's URL, types, tenant filter or status")
    async def update(
        self,
        webhook_id: FromPath[str],
        data: JSONBody[WebhookChange],
        webhooks: NamedDependency[WebhookSubscriptions],
        principal: NamedDependency[Principal],
    ) -> WebhookView:
        return WebhookView.of(await webhooks.update(principal, webhook_id, data))

    @delete("/{webhook_id:str}", status_code=204, summary="Unsubscribe (its queued deliveries are dropped)")
    async def remove(
        self,
        webhook_id: FromPath[str],
        webhooks: NamedDependency[WebhookSubscriptions],
        principal: NamedDependency[Principal],
    ) -> None:
        await webhooks.delete(principal, webhook_id)

    @get("/{webhook_id:str}/deliveries", summary="Deliveries, newest first, with every attempt's status and latency")
    async def deliveries(
        self,
        webhook_id: FromPath[str],
        webhooks: NamedDependency[WebhookSubscriptions],
        principal: NamedDependency[Principal],
        limit: Annotated[int, QueryParameter(ge=1, description="Page size; values over 100 are clamped")] = 20,
        before: Annotated[
            str | None, QueryParameter(max_length=64, description="A delivery id: list those older than it")
        ] = None,
    ) -> DeliveryList:
        found = await webhooks.deliveries(principal, webhook_id, limit, before)
        following = found[-1].id if len(found) == limit else None
        return DeliveryList([DeliveryView.of(d) for d in found], following)

    @post(
        "/{webhook_id:str}/deliveries/{delivery_id:str}/retry",
        status_code=202,
        summary="Deliver again now (attempts so far are kept)",
    )
    async def retry(
        self,
        webhook_id: FromPath[str],
        delivery_id: FromPath[str],
        webhooks: NamedDependency[WebhookSubscriptions],
        principal: NamedDependency[Principal],
    ) -> Response[DeliveryView]:
        delivery = await webhooks.retry(principal, webhook_id, delivery_id)
        return Response(DeliveryView.of(delivery), status_code=202)
