"""In-memory webhook sender and event bus: the :class:`~tenant_core.ports.WebhookSender` and
:class:`~tenant_core.ports.EventBus` ports for tests and for embedding the core in another service.

The sender records what it would have sent and answers with scripted statuses; the bus keeps published
events in order and can be made to fail, as a broker outage would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from tenant_core.change_events import ChangeEvent
from tenant_core.errors import UnavailableError, ValidationFailedError
from tenant_core.webhook_urls import parse_webhook_url
from tenant_core.webhooks import DeliveryAttempt


@dataclass
class SentWebhook:
    url: str
    message_id: str
    event: dict[str, object]


@dataclass
class InMemoryWebhookSender:
    """Applies the core's URL rule as the HTTP sender does; ``refused_hosts`` stand for names that resolve
    into a private network (there is no DNS here)."""

    statuses: list[int] = field(default_factory=list)  # answers in turn; 204 once they run out
    refused_hosts: set[str] = field(default_factory=set)
    sent: list[SentWebhook] = field(default_factory=list)

    async def refusal(self, url: str) -> str | None:
        try:
            host = parse_webhook_url(url).host
        except ValidationFailedError as exc:
            return exc.details[0].message
        if host in self.refused_hosts:
            return f"resolves to a non-public address ({host}); private networks are not allowed"
        return None

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> DeliveryAttempt:
        if (reason := await self.refusal(url)) is not None:
            refused = f"url refused: {reason}"
            return DeliveryAttempt(at=datetime.now(UTC), status_code=None, latency_ms=0.1, error=refused)
        status = self.statuses.pop(0) if self.statuses else 204
        self.sent.append(SentWebhook(url, message_id, msgspec.json.decode(payload)))
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return DeliveryAttempt(at=datetime.now(UTC), status_code=status, latency_ms=0.1, error=error)


@dataclass
class InMemoryEventBus:
    published: list[ChangeEvent] = field(default_factory=list)
    down: bool = False

    async def publish(self, events: list[ChangeEvent]) -> None:
        if self.down:
            raise UnavailableError("The event bus is down")
        self.published.extend(events)
