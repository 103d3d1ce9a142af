"""The platform's RabbitMQ bus (aio-pika)."""

from adapters.rabbitmq.bus import RabbitMqBus

__all__ = ["RabbitMqBus"]
