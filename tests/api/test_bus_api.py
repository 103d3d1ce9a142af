"""Events reach the platform's RabbitMQ queue, durably and in order, across a broker outage.

A real RabbitMQ node (Debian's rabbitmq-server) runs on a free loopback port with its own data directory.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aio_pika
import pytest
from litestar.testing import AsyncTestClient

from tests.api.conftest import ADMIN, app_for
from tests.support.builders import create_body
from tests.support.servers import RabbitMqServer

pytestmark = pytest.mark.skipif(
    not RabbitMqServer.available(), reason="rabbitmq-server is not installed (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def rabbitmq():
    server = RabbitMqServer().start()
    yield server
    server.close()


@pytest.fixture
async def bus_client(rabbitmq, postgres_url, redis_server, clean_postgres, clean_redis):
    app = app_for(postgres_url, redis_server.url, rabbitmq_url=rabbitmq.url)
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(ADMIN)
        yield client


async def _drain(url: str, wanted: set[str], timeout: float = 30.0) -> list[aio_pika.IncomingMessage]:
    """Consume from tenant-events until every event id in ``wanted`` came; returns every message read."""
    got: list[aio_pika.IncomingMessage] = []
    deadline = time.monotonic() + timeout
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("tenant-events", durable=True)
        while wanted - {m.message_id for m in got} and time.monotonic() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
            else:
                got.append(message)
    finally:
        await connection.close()
    assert not wanted - {m.message_id for m in got}, "events missing from the queue"
    return got


async def _feed(client) -> list[dict]:
    return (await client.get("/events", params={"limit": 100})).json()["events"]


async def test_events_survive_a_broker_outage_and_arrive_in_order(bus_client, rabbitmq):
    tenant = (await bus_client.post("/tenants", json=create_body())).json()["tenant"]["id"]
    first = await _drain(rabbitmq.url, {e["id"] for e in await _feed(bus_client)})
    message = first[0]
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.content_type == "application/cloudevents+json"
    assert json.loads(message.body)["subject"] == tenant

    rabbitmq.stop()
    for n in range(5):  # writes do not wait for the broker: their events wait in the outbox
        changed = await bus_client.patch(f"/tenants/{tenant}", json={"name": f"During outage {n}"})
        assert changed.status_code == 200
    # The instance still answers correctly: it stays ready (and alive) while the broker is down.
    assert (await bus_client.get("/health/ready")).status_code == 200
    assert (await bus_client.get("/health/live")).status_code == 200
    await asyncio.sleep(1.5)  # the relay tries, fails and backs off
    rabbitmq.start()

    events = [e for e in await _feed(bus_client) if e["id"] not in {m.message_id for m in first}]
    got = await _drain(rabbitmq.url, {e["id"] for e in events})
    bodies = {m.message_id: json.loads(m.body) for m in got}
    names = [bodies[e["id"]]["data"]["tenant"]["name"] for e in events if e["type"] == "tenant.updated"]
    assert names == [f"During outage {n}" for n in range(5)]
    arrived = [int(json.loads(m.body)["sequence"]) for m in got if json.loads(m.body)["subject"] == tenant]
    assert arrived == sorted(arrived)  # one tenant's events in commit order


async def test_each_unconfirmed_publish_is_logged_at_warning(bus_client, rabbitmq, capfd):
    """With the broker down, every relay attempt that fails leaves a WARNING line naming the event it stopped at,
    counting its attempts; the events still arrive once the broker is back."""
    logged: list[dict] = []
    output = ""
    rabbitmq.stop()
    try:
        tenant = (await bus_client.post("/tenants", json=create_body())).json()["tenant"]["id"]
        first_event = (await _feed(bus_client))[0]
        deadline = time.monotonic() + 30
        while len(logged) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            err = capfd.readouterr().err
            output += err
            lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
            logged += [line for line in lines if line["msg"].startswith("RabbitMQ publish attempt")]
    finally:
        sys.stderr.write(output)  # back to the captured output, for the leak check
        rabbitmq.start()
    assert [line["attempt"] for line in logged[:2]] == [1, 2]
    for line in logged[:2]:
        assert line["level"] == "WARNING" and line["service"] == "tenant-service"
        assert (line["eventId"], line["tenantId"]) == (first_event["id"], tenant)
        assert line["reason"].startswith("RabbitMQ did not confirm the events")
    await _drain(rabbitmq.url, {first_event["id"]})
