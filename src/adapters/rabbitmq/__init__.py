"""The platform's RabbitMQ bus (aio-pika)."""

from tenant_adapters.rabbitmq.bus import RabbitMqBus

__all__ = ["RabbitMqBus"]
