"""Relaying events to the platform's message bus (RabbitMQ), in feed order, from the outbox."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from tenant_core.errors import TenantServiceError
from tenant_core.ports import EventBus, Storage

#: The feed consumer whose position says how far the relay has got.
BUS_RELAY = "bus"


class FailedPublish(msgspec.Struct, frozen=True):
    """A batch the bus did not confirm, as told to ``on_failed_publish`` (never a payload)."""

    event_id: str  #: the batch's first event: where the relay starts again
    tenant_id: str  #: that event's subject
    events: int  #: how many the batch held
    attempt: int  #: this relay's failed attempts in a row (1: the first since the last success)
    reason: str


class EventRelay:
    """Publishes new events to the bus; every worker runs it, and one at a time holds the relay's position.

    ``on_failed_publish`` hears of every attempt the bus refused or did not confirm (the service logs it)."""

    def __init__(
        self, storage: Storage, bus: EventBus, on_failed_publish: Callable[[FailedPublish], None] | None = None
    ) -> None:
        self._storage = storage
        self._bus = bus
        self._on_failed_publish = on_failed_publish
        self._failed_in_a_row = 0

    async def relay(self, batch: int = 100) -> int:
        """Publish the next ``batch`` of events; the position moves only after the broker confirmed, so an
        outage delays events and loses none (a crash in between publishes a batch twice). Returns how many."""
        async with self._storage.unit_of_work() as uow:
            position = await uow.consumers.claim(BUS_RELAY)
            if position is None:
                return 0  # another worker is relaying
            events = await uow.events.read(position, batch)
            if not events:
                return 0
            try:
                await self._bus.publish(events)
            except TenantServiceError as exc:
                self._failed_in_a_row += 1
                if self._on_failed_publish is not None:
                    first = events[0]
                    self._on_failed_publish(
                        FailedPublish(first.id, first.subject, len(events), self._failed_in_a_row, exc.message)
                    )
                raise
            self._failed_in_a_row = 0
            await uow.consumers.advance(BUS_RELAY, events[-1].position or position)
        return len(events)
