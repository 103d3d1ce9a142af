"""In-memory webhook sender and event bus: the :class:`~tenant_core.ports.WebhookSender` and
:class:`~tenant_core.ports.EventBus` ports for tests and for embedding the core in another service.

The sender records what it would have sent and answers with scripted statuses; the bus keeps published
events in order and can be made to fail, as a broker outage would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import msgspec

from tenant_core.change_events import ChangeEvent
from tenant_core.errors import UnavailableError
from tenant_core.webhooks import DeliveryAttempt


@dataclass
class SentWebhook:
    url: str
    message_id: str
    event: dict[str, object]


@dataclass
class InMemoryWebhookSender:
    statuses: list[int] = field(default_factory=list)  # answers in turn; 204 once they run out
    refused_hosts: set[str] = field(default_factory=set)
    sent: list[SentWebhook] = field(default_factory=list)

    async def refusal(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "must be an absolute http(s) URL"
        if parts.hostname in self.refused_hosts:
            return f"resolves to a non-public address ({parts.hostname}); private networks are not allowed"
        return None

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> DeliveryAttempt:
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
