"""Three `serve` instances share one tenant's webhook line: one sender at a time, for as long as it sends."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx

from tenant_adapters.postgres import apply_migrations
from tests.api.conftest import TEST_CREDENTIALS_KEYS
from tests.support.servers import separate_database
from tests.support.service_process import ADMIN
from tests.support.webhook_receiver import Receiver

BACKLOG = 20
RECEIVER_SECONDS = 0.5
#: The lease is one attempt's timeout plus 5 s (8 s); the backlog takes about 10 s to send, so a claim that
#: were not renewed while its holder sends would run out midway and another instance would take the line.
#: 3 s leaves a loaded machine room to answer within an attempt's timeout.
TIMEOUT_SECONDS = 3


async def test_a_slow_line_is_sent_by_one_instance_at_a_time_and_never_repeated_without_a_failure(
    service_factory, postgres_url
):
    url = await separate_database(postgres_url, "fleet_webhooks")  # no other test's workers deliver here
    apply_migrations(url)
    receiver = Receiver(delay_seconds=RECEIVER_SECONDS).start()
    env = {
        "DATABASE_URL": url,
        "CREDENTIALS_KEYS": TEST_CREDENTIALS_KEYS,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "WEBHOOK_RETRY_SCHEDULE": "0.2,0.5,1,2,3,5,8,13",
    }
    fleet = await asyncio.gather(*(service_factory(env).start() for _ in range(3)))
    try:
        async with httpx.AsyncClient(base_url=fleet[0].url, timeout=10, headers=ADMIN) as client:
            created = await client.post("/tenants", json={"name": "Line", "email": "line@x.com"})
            tenant_id = created.json()["tenant"]["id"]
            hook = {"url": receiver.url, "eventTypes": ["tenant.updated"], "tenantId": tenant_id}
            answer = (await client.post("/webhooks", json=hook)).json()
            receiver.secret = answer["secret"]
            # Through every instance, as a load balancer would spread them. The first delivery is held at the
            # receiver until all are queued, so the next claim takes the whole rest of the backlog.
            receiver.gate.clear()
            for n in range(BACKLOG):
                renamed = await client.patch(f"{fleet[n % 3].url}/tenants/{tenant_id}", json={"name": f"n{n}"})
                assert renamed.status_code == 200
            listing = f"/webhooks/{answer['id']}/deliveries?limit=100"
            while len((await client.get(listing)).json()["deliveries"]) < BACKLOG:
                await asyncio.sleep(0.02)
            receiver.gate.set()
            started = time.monotonic()
            await receiver.wait_for(lambda r: len(r.unique()) >= BACKLOG, timeout=90)
            took = time.monotonic() - started
            deliveries = (await client.get(listing)).json()
    finally:
        for service in fleet:
            service.signal(signal.SIGKILL)
        receiver.stop()

    print(f"{BACKLOG} deliveries at {RECEIVER_SECONDS} s each took {took:.1f} s")
    # A delivery whose attempt failed (timed out on a loaded machine) is rightly sent again, and may then reach
    # the receiver while it still answers the first; nothing else may overlap or repeat.
    failed_once = {d["eventId"] for d in deliveries["deliveries"] if any(a["error"] for a in d["attempts"])}
    overlapping = set(receiver.overlapping) - failed_once
    assert not overlapping, f"{len(overlapping)} deliveries arrived while another of their line was being sent"
    repeated = {m for m, count in receiver.attempts.items() if count > 1}
    assert repeated <= failed_once, f"sent again without a failed attempt: {sorted(repeated - failed_once)}"
    first_arrivals = list(dict.fromkeys(int(r.event["sequence"]) for r in receiver.received))
    assert first_arrivals == sorted(first_arrivals)  # in feed order
