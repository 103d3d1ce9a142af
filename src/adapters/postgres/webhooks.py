"""Webhook subscriptions and their deliveries in Postgres: claimed line by line under leases."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.tenants import Executor
from tenant_core.webhooks import Delivery, DeliveryAttempt, DeliveryState, Lease, Webhook

_WEBHOOK_COLUMNS = [f.name for f in msgspec.structs.fields(Webhook)]
_DELIVERY_COLUMNS = [f.name for f in msgspec.structs.fields(Delivery)]
#: What a replace changes: everything but the id and the sealed secret, set when a subscription is created.
_REPLACEABLE = [c for c in _WEBHOOK_COLUMNS if c not in ("id", "key_id", "sealed_secret")]
_attempts = msgspec.json.Decoder(list[DeliveryAttempt])


def _webhook(row: asyncpg.Record | None) -> Webhook | None:
    return None if row is None else msgspec.convert(dict(row), Webhook)


def _delivery(row: asyncpg.Record | None) -> Delivery | None:
    if row is None:
        return None
    values = dict(row)
    values["attempts"] = msgspec.convert(values["attempts"], list[DeliveryAttempt])
    values["payload"] = bytes(values["payload"])
    return msgspec.convert(values, Delivery)


class PostgresWebhookRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add(self, webhook: Webhook) -> Webhook:
        columns = ", ".join(_WEBHOOK_COLUMNS)
        values = ", ".join(f"${i}" for i in range(1, len(_WEBHOOK_COLUMNS) + 1))
        with translated():
            row = await self._db.fetchrow(
                f"INSERT INTO webhooks ({columns}) VALUES ({values}) RETURNING *", *_webhook_params(webhook)
            )
        return _webhook(row)  # type: ignore[return-value]

    async def get(self, webhook_id: str) -> Webhook | None:
        with translated():
            return _webhook(await self._db.fetchrow("SELECT * FROM webhooks WHERE id = $1", webhook_id))

    async def list(self) -> list[Webhook]:
        with translated():
            rows = await self._db.fetch("SELECT * FROM webhooks ORDER BY created_at, id")
        return [_webhook(r) for r in rows]  # type: ignore[misc]

    async def replace(self, webhook: Webhook) -> Webhook | None:
        # The sealed secret is never replaced: key rotation may have re-sealed it since ``webhook`` was read.
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_REPLACEABLE, start=2))
        values = [getattr(webhook, c) for c in _REPLACEABLE]
        with translated():
            row = await self._db.fetchrow(f"UPDATE webhooks SET {sets} WHERE id = $1 RETURNING *", webhook.id, *values)
        return _webhook(row)

    async def remove(self, webhook_id: str) -> bool:
        with translated():
            return await self._db.fetchval("DELETE FROM webhooks WHERE id = $1 RETURNING true", webhook_id) is True

    async def enqueue(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        columns = ", ".join(_DELIVERY_COLUMNS)
        values = ", ".join(f"${i}" for i in range(1, len(_DELIVERY_COLUMNS) + 1))
        sql = (
            f"INSERT INTO webhook_deliveries ({columns}) VALUES ({values}) "
            "ON CONFLICT (webhook_id, event_id) DO NOTHING"
        )
        with translated():
            await self._db.executemany(sql, [_delivery_params(d) for d in deliveries])

    async def claim_due(self, now: datetime, lease: Lease, lines: int, per_line: int) -> list[Delivery]:
        # A line (subscription × tenant) is claimed through its head, the oldest pending delivery: a worker
        # that cannot lock the head (another is claiming the line) skips the whole line, so two workers never
        # send one line's deliveries side by side. The lease conditions sit on the locked rows themselves, so
        # a line another worker leased and committed in between is re-checked and skipped (READ COMMITTED
        # re-evaluates them on the new row).
        sql = (
            "WITH heads AS (SELECT DISTINCT ON (webhook_id, tenant_id) id, next_attempt_at FROM webhook_deliveries "
            "  WHERE state = 'pending' ORDER BY webhook_id, tenant_id, event_position), "
            "claimed_heads AS (SELECT d.webhook_id, d.tenant_id FROM webhook_deliveries d JOIN heads h ON h.id = d.id "
            "  WHERE d.state = 'pending' AND d.next_attempt_at <= $1 "
            "  AND (d.leased_until IS NULL OR d.leased_until <= $1) "
            "  ORDER BY h.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED), "
            "ranked AS (SELECT d.id, row_number() OVER (PARTITION BY d.webhook_id, d.tenant_id "
            "  ORDER BY d.event_position) AS n FROM webhook_deliveries d "
            "  JOIN claimed_heads USING (webhook_id, tenant_id) "
            "  WHERE d.state = 'pending'), "
            "picked AS (SELECT d.id FROM webhook_deliveries d JOIN ranked r ON r.id = d.id WHERE r.n <= $4 "
            "  AND d.state = 'pending' AND (d.leased_until IS NULL OR d.leased_until <= $1) FOR UPDATE OF d) "
            "UPDATE webhook_deliveries w SET leased_until = $2, leased_by = $5 FROM picked WHERE w.id = picked.id "
            "RETURNING w.*"
        )
        with translated():
            rows = await self._db.fetch(sql, now, lease.until, lines, per_line, lease.holder)
        claimed = [_delivery(r) for r in rows]
        return sorted(claimed, key=lambda d: (d.webhook_id, d.tenant_id, d.event_position))  # type: ignore[union-attr]

    async def renew(self, delivery_ids: list[str], lease: Lease) -> bool:
        if not delivery_ids:
            return True
        # All or nothing, in one statement: the rows are locked, so a claim racing this one waits for it (and
        # then finds the lease extended) or committed first (and this finds another holder, extending none).
        sql = (
            "WITH mine AS (SELECT id FROM webhook_deliveries WHERE id = ANY($1) AND leased_by = $2 "
            "  AND state = 'pending' FOR UPDATE), "
            "whole AS (SELECT count(*) = cardinality($1::text[]) AS ok FROM mine), "
            "renewed AS (UPDATE webhook_deliveries w SET leased_until = $3 FROM mine "
            "  WHERE w.id = mine.id AND (SELECT ok FROM whole) RETURNING w.id) "
            "SELECT ok FROM whole"
        )
        with translated():
            return await self._db.fetchval(sql, delivery_ids, lease.holder, lease.until)  # type: ignore[no-any-return]

    async def release(self, delivery_ids: list[str], holder: str) -> None:
        if delivery_ids:
            with translated():
                await self._db.execute(
                    "UPDATE webhook_deliveries SET leased_until = NULL, leased_by = NULL "
                    "WHERE id = ANY($1) AND leased_by = $2",
                    delivery_ids,
                    holder,
                )

    async def record_attempt(
        self, delivery_id: str, attempt: DeliveryAttempt, state: DeliveryState, next_attempt_at: datetime, holder: str
    ) -> None:
        # The reservation goes if it is the recorder's (or unnamed, from a version before holders).
        mine = "coalesce(leased_by, $5) = $5"
        sql = (
            "UPDATE webhook_deliveries SET attempts = attempts || $2::jsonb, state = $3, next_attempt_at = $4, "
            f"leased_until = CASE WHEN {mine} THEN NULL ELSE leased_until END, "
            f"leased_by = CASE WHEN {mine} THEN NULL ELSE leased_by END WHERE id = $1"
        )
        with translated():
            await self._db.execute(
                sql, delivery_id, [msgspec.to_builtins(attempt)], state.value, next_attempt_at, holder
            )

    async def deliveries(self, webhook_id: str, limit: int, before: str | None = None) -> list[Delivery]:
        sql = (
            "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND ($3::text IS NULL OR (created_at, id) < "
            "(SELECT created_at, id FROM webhook_deliveries WHERE id = $3)) ORDER BY created_at DESC, id DESC LIMIT $2"
        )
        with translated():
            rows = await self._db.fetch(sql, webhook_id, limit, before)
        return [_delivery(r) for r in rows]  # type: ignore[misc]

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        sql = "SELECT * FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2"
        with translated():
            return _delivery(await self._db.fetchrow(sql, delivery_id, webhook_id))

    async def requeue(self, webhook_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        sql = (
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3 "
            "WHERE id = $1 AND webhook_id = $2 RETURNING *"
        )
        with translated():
            return _delivery(await self._db.fetchrow(sql, delivery_id, webhook_id, now))


def _webhook_params(webhook: Webhook) -> list[object]:
    return [getattr(webhook, c) for c in _WEBHOOK_COLUMNS]


def _delivery_params(delivery: Delivery) -> list[object]:
    values = [getattr(delivery, c) for c in _DELIVERY_COLUMNS]
    values[_DELIVERY_COLUMNS.index("attempts")] = msgspec.to_builtins(delivery.attempts)
    values[_DELIVERY_COLUMNS.index("state")] = delivery.state.value
    return values
