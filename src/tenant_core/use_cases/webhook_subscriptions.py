"""Webhook subscriptions, managed by admins: what a subscription may name, its signing secret, its deliveries."""

from __future__ import annotations

import base64
import secrets

import msgspec

from tenant_core.change_events import checked_event_types
from tenant_core.errors import NotFoundError, ValidationFailedError
from tenant_core.lookup_cache import TenantDirectory
from tenant_core.paging import page_size
from tenant_core.ports import Clock, Storage, WebhookSender
from tenant_core.sealed_kinds import WEBHOOK_SECRETS
from tenant_core.sealing import SealedValues
from tenant_core.security import Permission, Principal
from tenant_core.validation import validated
from tenant_core.webhook_urls import parse_webhook_url
from tenant_core.webhooks import (
    CreatedWebhook,
    Delivery,
    NewWebhook,
    Webhook,
    WebhookChange,
    WebhookStatus,
)


class WebhookSubscriptions:
    """Creates, changes and deletes webhook subscriptions (admins), lists and retries their deliveries."""

    def __init__(
        self, storage: Storage, sealed: SealedValues, sender: WebhookSender, directory: TenantDirectory, clock: Clock
    ) -> None:
        self._storage = storage
        self._sealed = sealed
        self._sender = sender
        self._directory = directory
        self._clock = clock

    async def create(self, principal: Principal, new: NewWebhook) -> CreatedWebhook:
        """Subscribe; the signing secret is returned here only, and stored sealed."""
        principal.require(Permission.WEBHOOKS_MANAGE)
        new = validated(new)
        await self._check(new.url, new.event_types, new.tenant_id, new.description)
        webhook_id = "wh_" + secrets.token_hex(8)
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        key_id, sealed = self._sealed.seal(WEBHOOK_SECRETS, (webhook_id,), secret.encode())
        now = self._clock.now()
        webhook = Webhook(
            id=webhook_id,
            url=new.url,
            event_types=sorted({str(t) for t in new.event_types}),
            tenant_id=new.tenant_id,
            description=new.description,
            status=WebhookStatus.ACTIVE,
            key_id=key_id,
            sealed_secret=sealed,
            created_at=now,
            updated_at=now,
        )
        async with self._storage.unit_of_work() as uow:
            stored = await uow.webhooks.add(webhook)
        return CreatedWebhook(webhook=stored, secret=secret)

    async def list(self, principal: Principal) -> list[Webhook]:
        principal.require(Permission.WEBHOOKS_MANAGE)
        return await self._storage.webhooks.list()

    async def get(self, principal: Principal, webhook_id: str) -> Webhook:
        principal.require(Permission.WEBHOOKS_MANAGE)
        if (webhook := await self._storage.webhooks.get(webhook_id)) is None:
            raise NotFoundError(f"Webhook {webhook_id} not found")
        return webhook

    async def update(self, principal: Principal, webhook_id: str, change: WebhookChange) -> Webhook:
        current = await self.get(principal, webhook_id)
        fields = msgspec.structs.asdict(validated(change))
        fields = {k: v for k, v in fields.items() if v is not msgspec.UNSET}
        if not fields:
            raise ValidationFailedError("Request body must change at least one field", [])
        if "event_types" in fields:
            fields["event_types"] = sorted({str(t) for t in fields["event_types"]})
        changed = msgspec.structs.replace(current, **fields, updated_at=self._clock.now())
        await self._check(changed.url, changed.event_types, changed.tenant_id, changed.description)
        async with self._storage.unit_of_work() as uow:
            stored = await uow.webhooks.replace(changed)
        if stored is None:
            raise NotFoundError(f"Webhook {webhook_id} not found")
        return stored

    async def delete(self, principal: Principal, webhook_id: str) -> None:
        principal.require(Permission.WEBHOOKS_MANAGE)
        async with self._storage.unit_of_work() as uow:
            if not await uow.webhooks.remove(webhook_id):
                raise NotFoundError(f"Webhook {webhook_id} not found")

    async def deliveries(
        self, principal: Principal, webhook_id: str, limit: int = 20, before: str | None = None
    ) -> list[Delivery]:
        await self.get(principal, webhook_id)
        return await self._storage.webhooks.deliveries(webhook_id, page_size(limit), before)

    async def retry(self, principal: Principal, webhook_id: str, delivery_id: str) -> Delivery:
        """Send the delivery again now (whatever its state); attempts so far are kept."""
        await self.get(principal, webhook_id)
        async with self._storage.unit_of_work() as uow:
            delivery = await uow.webhooks.requeue(webhook_id, delivery_id, self._clock.now())
        if delivery is None:
            raise NotFoundError(f"Delivery {delivery_id} not found")
        return delivery

    async def _check(self, url: str, event_types: list[str], tenant_id: str | None, description: str | None) -> None:
        parse_webhook_url(url)  # the rule every sender shares; the sender then checks where the host leads
        if (reason := await self._sender.refusal(url)) is not None:
            raise ValidationFailedError.for_field("url", reason)
        if not event_types:
            raise ValidationFailedError.for_field("eventTypes", "must name at least one event type")
        checked_event_types(event_types, "eventTypes")
        if description is not None and len(description) > 500:
            raise ValidationFailedError.for_field("description", "must be at most 500 characters")
        if tenant_id is not None:
            try:
                await self._directory.live(tenant_id)
            except NotFoundError:
                raise ValidationFailedError.for_field("tenantId", f"no tenant {tenant_id}") from None
