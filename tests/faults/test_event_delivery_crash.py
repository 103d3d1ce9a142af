"""kill -9 during a burst of writes loses no event and invents none, and deliveries resume in order."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import httpx

from tests.api.conftest import TEST_CREDENTIALS_KEYS
from tests.support.service_process import ADMIN
from tests.support.webhook_receiver import Receiver

EVENT_OF_ACTION = {"tenant.created": "tenant.created", "tenant.updated": "tenant.updated"}


async def test_kill_9_during_writes_keeps_exactly_one_event_per_change_and_delivers_them_all(
    service_factory, postgres_url, clean_postgres
):
    receiver = Receiver().start()
    env = {
        "DATABASE_URL": postgres_url,
        # The keys of every other instance on this database (the API suite's apps): one deployment, one key set.
        "CREDENTIALS_KEYS": TEST_CREDENTIALS_KEYS,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        # Long enough that no delivery runs out of retries while the loaded machine answers slowly: a delivery
        # that failed for good lets the next one of its tenant go first, which is not what is tested here.
        "WEBHOOK_RETRY_SCHEDULE": "0.2,0.5,1,2,3,5,8,13",
        "WEBHOOK_TIMEOUT_SECONDS": "1",  # so a delivery claimed by the killed process is free again in 6 s
    }
    service = await service_factory(env).start()
    acknowledged: list[tuple[str, str]] = []  # (tenant id, name) of every acknowledged rename

    async def writer(client: httpx.AsyncClient, n: int) -> None:
        try:
            created = await client.post("/tenants", json={"name": "W", "email": f"w{n}@x.com"}, headers=ADMIN)
            tenant_id = created.json()["tenant"]["id"]
            for i in range(10_000):
                name = f"w{n}-{i}"
                renamed = await client.patch(f"/tenants/{tenant_id}", json={"name": name}, headers=ADMIN)
                if renamed.status_code == 200:
                    acknowledged.append((tenant_id, name))
        except httpx.HTTPError:
            return  # the server is gone

    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
            hook = {"url": receiver.url, "eventTypes": ["tenant.created", "tenant.updated"]}
            receiver.secret = (await client.post("/webhooks", json=hook, headers=ADMIN)).json()["secret"]
            writers = [asyncio.create_task(writer(client, n)) for n in range(6)]
            await asyncio.sleep(1.5)
            service.signal(signal.SIGKILL)
            await asyncio.gather(*writers)
        service.wait()
        assert len(acknowledged) > 20

        # Exactly one event per committed change: the audit log (same transaction) says what committed.
        audit = Counter(
            (r["tenant_id"], r["action"])
            for r in await clean_postgres.fetch(
                "SELECT tenant_id, action FROM audit_log WHERE action = ANY($1)", list(EVENT_OF_ACTION)
            )
        )
        rows = await clean_postgres.fetch(
            "SELECT id, type, tenant_id, data FROM events WHERE type = ANY($1)", list(EVENT_OF_ACTION.values())
        )
        events = Counter((r["tenant_id"], r["type"]) for r in rows)
        assert events == audit
        assert len({r["id"] for r in rows}) == len(rows)
        names = {(r["tenant_id"], r["data"]["tenant"]["name"]) for r in rows if r["type"] == "tenant.updated"}
        assert set(acknowledged) <= names  # every acknowledged write has its event

        restarted = await service_factory(env).start()
        try:
            await receiver.wait_for(lambda r: set(r.unique()) >= {r_["id"] for r_ in rows}, timeout=60)
        finally:
            restarted.signal(signal.SIGTERM)
            await asyncio.to_thread(restarted.wait)
        failed = await clean_postgres.fetchval("SELECT count(*) FROM webhook_deliveries WHERE state = 'failed'")
        assert failed == 0
        # Each tenant's events arrived in commit order (first arrivals; a crash may repeat one already sent).
        first_seen: dict[str, list[int]] = {}
        seen: set[str] = set()
        for received in receiver.received:
            if received.message_id not in seen:
                seen.add(received.message_id)
                first_seen.setdefault(received.event["subject"], []).append(int(received.event["sequence"]))
        for tenant_id, sequences in first_seen.items():
            assert sequences == sorted(sequences), tenant_id
        assert receiver.rejected_signatures == 0
    finally:
        receiver.stop()
