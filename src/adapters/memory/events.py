"""In-memory outbox, consumer positions and webhook subscriptions.

Memory transactions run one at a time, so giving an event the next position when it is appended already
gives commit order; a rolled-back transaction's positions are never published.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from tenant_adapters.memory.state import StateView
from tenant_core.change_events import ChangeEvent
from tenant_core.webhooks import Delivery, DeliveryAttempt, DeliveryState, Lease, Webhook


class InMemoryEventLog(StateView):
    async def append(self, event: ChangeEvent) -> None:
        state = self._state
        state.last_position += 1
        state.events.append(msgspec.structs.replace(event, position=state.last_position))

    async def read(
        self, after: int, limit: int, types: frozenset[str] | None = None, tenant_id: str | None = None
    ) -> list[ChangeEvent]:
        found = []
        for event in self._state.events:  # ascending positions
            if event.position is not None and event.position <= after:
                continue
            if (types is None or event.type in types) and (tenant_id is None or event.subject == tenant_id):
                found.append(event)
                if len(found) == limit:
                    break
        return found

    async def sequence(self, wait: bool = False, batch: int = 1000) -> int:
        return 0  # memory transactions run one at a time: positions given at append are already final

    async def horizon(self) -> int:
        return self._state.pruned_through

    async def newest(self) -> int:
        return max(self._state.last_position, self._state.pruned_through)

    async def prune(self, before: datetime) -> int:
        state = self._state
        gone = [e for e in state.events if e.time < before]
        if gone:
            state.pruned_through = max(state.pruned_through, max(e.position or 0 for e in gone))
            state.events = [e for e in state.events if (e.position or 0) > state.pruned_through]
        return len(gone)


class InMemoryEventConsumers(StateView):
    async def claim(self, name: str) -> int | None:
        return self._state.consumers.get(name, 0)  # transactions are serial: the claim is always ours

    async def advance(self, name: str, position: int) -> None:
        self._state.consumers[name] = position


class InMemoryWebhookRepository(StateView):
    async def add(self, webhook: Webhook) -> Webhook:
        self._state.webhooks[webhook.id] = webhook
        return webhook

    async def get(self, webhook_id: str) -> Webhook | None:
        return self._state.webhooks.get(webhook_id)

    async def list(self) -> list[Webhook]:
        return sorted(self._state.webhooks.values(), key=lambda w: (w.created_at, w.id))

    async def replace(self, webhook: Webhook) -> Webhook | None:
        current = self._state.webhooks.get(webhook.id)
        if current is None:
            return None
        # The sealed secret is never replaced: key rotation may have re-sealed it since ``webhook`` was read.
        webhook = msgspec.structs.replace(webhook, key_id=current.key_id, sealed_secret=current.sealed_secret)
        self._state.webhooks[webhook.id] = webhook
        return webhook

    async def remove(self, webhook_id: str) -> bool:
        state = self._state
        if state.webhooks.pop(webhook_id, None) is None:
            return False
        state.deliveries = {k: d for k, d in state.deliveries.items() if d.webhook_id != webhook_id}
        return True

    async def enqueue(self, deliveries: list[Delivery]) -> None:
        state = self._state
        queued = {(d.webhook_id, d.event_id) for d in state.deliveries.values()}
        for delivery in deliveries:
            if (delivery.webhook_id, delivery.event_id) not in queued:
                state.deliveries[delivery.id] = delivery

    async def claim_due(self, now: datetime, lease: Lease, lines: int, per_line: int) -> list[Delivery]:
        state = self._state
        queues: dict[tuple[str, str], list[Delivery]] = {}
        for delivery in state.deliveries.values():
            if delivery.state is DeliveryState.PENDING:
                queues.setdefault((delivery.webhook_id, delivery.tenant_id), []).append(delivery)
        due = []
        for queue in queues.values():
            queue.sort(key=lambda d: d.event_position)
            head = queue[0]
            if head.next_attempt_at <= now and self._free(head.id, now):
                due.append(queue)
        due.sort(key=lambda q: q[0].next_attempt_at)
        claimed = [d for queue in due[:lines] for d in queue[:per_line] if self._free(d.id, now)]
        for delivery in claimed:
            state.leases[delivery.id] = lease
        return claimed

    def _free(self, delivery_id: str, now: datetime) -> bool:
        lease = self._state.leases.get(delivery_id)
        return lease is None or lease.until <= now

    async def renew(self, delivery_ids: list[str], lease: Lease) -> bool:
        state = self._state
        if not all(
            (held := state.leases.get(i)) is not None
            and held.holder == lease.holder
            and (d := state.deliveries.get(i)) is not None
            and d.state is DeliveryState.PENDING
            for i in delivery_ids
        ):
            return False
        for delivery_id in delivery_ids:
            state.leases[delivery_id] = lease
        return True

    async def release(self, delivery_ids: list[str], holder: str) -> None:
        leases = self._state.leases
        for delivery_id in delivery_ids:
            if (held := leases.get(delivery_id)) is not None and held.holder == holder:
                del leases[delivery_id]

    async def record_attempt(
        self, delivery_id: str, attempt: DeliveryAttempt, state: DeliveryState, next_attempt_at: datetime, holder: str
    ) -> None:
        data = self._state
        await self.release([delivery_id], holder)
        if (delivery := data.deliveries.get(delivery_id)) is not None:
            attempts = [*delivery.attempts, attempt]
            data.deliveries[delivery_id] = msgspec.structs.replace(
                delivery, attempts=attempts, state=state, next_attempt_at=next_attempt_at
            )

    async def deliveries(self, webhook_id: str, limit: int, before: str | None = None) -> list[Delivery]:
        mine = [d for d in self._state.deliveries.values() if d.webhook_id == webhook_id]
        mine.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        if before is not None and (anchor := self._state.deliveries.get(before)) is not None:
            mine = [d for d in mine if (d.created_at, d.id) < (anchor.created_at, anchor.id)]
        return mine[:limit]

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        delivery = self._state.deliveries.get(delivery_id)
        return delivery if delivery is not None and delivery.webhook_id == webhook_id else None

    async def requeue(self, webhook_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        if (delivery := await self.get_delivery(webhook_id, delivery_id)) is None:
            return None
        again = msgspec.structs.replace(delivery, state=DeliveryState.PENDING, next_attempt_at=now)
        self._state.deliveries[delivery_id] = again
        return again
