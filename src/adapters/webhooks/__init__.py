"""Webhook delivery over HTTP, signed by the Standard Webhooks spec."""

from tenant_adapters.webhooks.sender import HttpWebhookSender

__all__ = ["HttpWebhookSender"]
