"""Relaying events to the platform's message bus (RabbitMQ), in feed order, from the outbox."""

from __future__ import annotations

from tenant_core.ports import EventBus, Storage

#: The feed consumer whose position says how far the relay has got.
BUS_RELAY = "bus"


class EventRelay:
    """Publishes new events to the bus; every worker runs it, and one at a time holds the relay's position."""

    def __init__(self, storage: Storage, bus: EventBus) -> None:
        self._storage = storage
        self._bus = bus

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
            await self._bus.publish(events)
            await uow.consumers.advance(BUS_RELAY, events[-1].position or position)
        return len(events)
