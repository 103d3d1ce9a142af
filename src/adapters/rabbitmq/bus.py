"""Publishes change events to the platform's ``tenant-events`` queue: durable queue, persistent messages,
publisher confirms. Each message is the CloudEvent JSON; ``message_id`` is the event id, so consumers can
drop the duplicates that at-least-once relaying may produce."""

from __future__ import annotations

import asyncio
import logging

import aio_pika
import msgspec
from aio_pika.abc import AbstractChannel, AbstractConnection

from tenant_core.change_events import ChangeEvent
from tenant_core.errors import UnavailableError

DEFAULT_QUEUE = "tenant-events"

# The relay reports an outage once, itself; aiormq would log every failed reconnect as an error.
logging.getLogger("aiormq").setLevel(logging.CRITICAL)


class RabbitMqBus:
    """The :class:`~tenant_core.ports.EventBus` port on RabbitMQ (aio-pika): each event confirmed in order;
    a failed publish closes the connection, and the next one opens a new one."""

    def __init__(self, url: str, queue: str = DEFAULT_QUEUE, timeout_seconds: float = 5.0) -> None:
        self._url = url
        self._queue = queue
        self._timeout = timeout_seconds
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None

    async def _ready_channel(self) -> AbstractChannel:
        if self._channel is None or self._channel.is_closed:
            if self._connection is None or self._connection.is_closed:
                # A plain connection: the relay already retries from the outbox, so a robust connection's own
                # reconnect loop would only add noise and hide the outage from it.
                self._connection = await aio_pika.connect(self._url, timeout=self._timeout)
            self._channel = await self._connection.channel(publisher_confirms=True)  # type: ignore[assignment]
            await self._channel.declare_queue(self._queue, durable=True)  # type: ignore[union-attr]
        return self._channel  # type: ignore[return-value]

    async def publish(self, events: list[ChangeEvent]) -> None:
        try:
            channel = await self._ready_channel()
            for event in events:  # one at a time, each confirmed: order is kept and nothing is assumed sent
                message = aio_pika.Message(
                    body=msgspec.json.encode(event.cloud_event()),
                    content_type="application/cloudevents+json",
                    message_id=event.id,
                    type=event.type,
                    timestamp=event.time,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    headers={"tenant_id": event.subject},
                )
                await channel.default_exchange.publish(message, routing_key=self._queue, timeout=self._timeout)
        except Exception as exc:  # the broker's many failure types all mean "not confirmed: try later"
            await self._reset()
            raise UnavailableError(f"RabbitMQ did not confirm the events: {type(exc).__name__}") from exc

    async def _reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), self._timeout)
            except Exception:  # noqa: BLE001 - closing a broken connection may fail or hang; it is gone either way
                pass

    async def close(self) -> None:
        await self._reset()
