"""/metrics reads the event machinery's backlog from the database: every instance reports the same numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from tenant_adapters.postgres import PostgresStorage, apply_migrations, create_pool
from tenant_core import Check, ConnectionReport, ConnectionStatus, CredentialType, SealedCredentials
from tenant_core.webhooks import Delivery, DeliveryState, Webhook, WebhookStatus
from tests.api.conftest import ADMIN, app_for
from tests.support.builders import create_body, tenant
from tests.support.servers import separate_database

SHARED = re.compile(r"^(tenant_service_(?:webhook_|events_|dependency_up|connections|whatsapp_token)\S*) (\S+)$", re.M)
QUEUED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _shared_gauges(text: str) -> dict[str, float]:
    return {name: float(value) for name, value in SHARED.findall(text)}


async def _queue_two_deliveries_and_a_failing_subscription(storage: PostgresStorage) -> None:
    def webhook(webhook_id: str, status: WebhookStatus) -> Webhook:
        return Webhook(
            id=webhook_id, url="https://example.com/hook", event_types=["tenant.updated"], tenant_id=None,
            description=None, status=status, key_id="k", sealed_secret=b"x", created_at=QUEUED_AT,
            updated_at=QUEUED_AT,
        )  # fmt: skip

    deliveries = [
        Delivery(
            id=f"dlv_{n}",
            webhook_id="wh_ok",
            event_id=f"evt-{n}",
            event_type="tenant.updated",
            event_position=n,
            tenant_id="t_a",
            state=DeliveryState.PENDING,
            attempts=[],
            next_attempt_at=QUEUED_AT,
            created_at=QUEUED_AT + timedelta(seconds=n),
            payload=b"{}",
        )  # fmt: skip
        for n in (1, 2)
    ]
    async with storage.unit_of_work() as uow:
        await uow.webhooks.add(webhook("wh_ok", WebhookStatus.ACTIVE))
        await uow.webhooks.add(webhook("wh_failing", WebhookStatus.FAILING))
        await uow.webhooks.enqueue(deliveries)


async def _store_two_connections(storage: PostgresStorage) -> datetime:
    """A WhatsApp token that expires in three days, and Genesys credentials whose last check failed; returns
    the token's expiry."""
    now = datetime.now(UTC)
    expires = now.replace(microsecond=0) + timedelta(days=3)
    report = ConnectionReport.of([Check("token", False, "refused")], now)
    async with storage.unit_of_work() as uow:
        first, second = await uow.tenants.add(tenant()), await uow.tenants.add(tenant())
        whatsapp = ConnectionStatus(token_checked=True, token_expires_at=expires)
        await uow.credentials.put(SealedCredentials(first.id, CredentialType.WHATSAPP, "k", b"x", now, whatsapp))
        genesys = ConnectionStatus(last_check=report, token_checked=True, token_invalid=True)
        await uow.credentials.put(SealedCredentials(second.id, CredentialType.GENESYS, "k", b"x", now, genesys))
    return expires


async def test_two_instances_report_the_same_backlog(postgres_url, redis_server):
    """Deliveries pending, a subscription failing, events not yet numbered, a token expiring and a connection
    invalid: both instances' /metrics say so, with equal values (no event worker runs, so nothing moves between
    the two scrapes)."""
    url = await separate_database(postgres_url, "operations_metrics")
    apply_migrations(url)
    pool = await create_pool(url)
    try:
        await pool.execute(
            "DELETE FROM tenants; DELETE FROM webhooks; DELETE FROM events; DELETE FROM events_unnumbered"
        )
        await _queue_two_deliveries_and_a_failing_subscription(PostgresStorage(pool))
        expires = await _store_two_connections(PostgresStorage(pool))
        first = app_for(url, redis_server.url, event_delivery=False)
        second = app_for(url, redis_server.url, event_delivery=False)
        async with AsyncTestClient(first) as a, AsyncTestClient(second) as b:
            created = await a.post("/tenants", json=create_body(), headers=ADMIN)
            assert created.status_code == 201
            seen = [_shared_gauges((await c.get("/metrics", headers=ADMIN)).text) for c in (a, b)]
    finally:
        await pool.close()
    assert seen[0] == seen[1]
    gauges = seen[0]
    assert gauges["tenant_service_webhook_deliveries_pending"] == 2
    assert (
        gauges["tenant_service_webhook_oldest_pending_delivery_timestamp_seconds"]
        == (QUEUED_AT + timedelta(seconds=1)).timestamp()
    )
    assert gauges["tenant_service_webhook_subscriptions_failing"] == 1
    assert gauges["tenant_service_events_unnumbered"] >= 2  # tenant.created and api_key.created, at least
    assert "tenant_service_events_oldest_unnumbered_timestamp_seconds" in gauges
    assert gauges['tenant_service_dependency_up{dependency="postgres"}'] == 1
    assert gauges['tenant_service_dependency_up{dependency="redis"}'] == 1
    assert "tenant_service_events_relay_backlog" not in gauges  # no RabbitMQ configured: nothing to relay
    assert gauges['tenant_service_connections{health="expiring",kind="whatsapp"}'] == 1
    assert gauges['tenant_service_connections{health="invalid",kind="genesys"}'] == 1
    assert sum(v for k, v in gauges.items() if k.startswith("tenant_service_connections{")) == 2
    earliest = 'tenant_service_connections_earliest_expiry_timestamp_seconds{kind="whatsapp"}'
    assert gauges[earliest] == expires.timestamp()
    assert 'tenant_service_connections_oldest_check_timestamp_seconds{kind="genesys"}' in gauges


async def test_the_latency_histogram_names_the_method(client):
    await client.get("/tenants")
    text = (await client.get("/metrics")).text
    assert 'tenant_service_http_request_duration_seconds_count{method="GET",route="/tenants"}' in text
