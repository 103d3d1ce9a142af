"""With Redis gone the service keeps answering from Postgres, and uses Redis again when it returns."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from tests.api.conftest import ADMIN, app_for
from tests.support.builders import create_body
from tests.support.servers import RedisServer


async def test_redis_down_and_back(postgres_url, clean_postgres):
    redis = RedisServer().start()
    try:
        async with AsyncTestClient(app_for(postgres_url, redis.url), raise_server_exceptions=False) as client:
            client.headers.update(ADMIN)
            tenant = (await client.post("/tenants", json=create_body(phoneNumberId="777"))).json()["tenant"]
            assert (await client.get("/tenants/by-phone/777")).status_code == 200

            redis.stop()
            for _ in range(5):
                assert (await client.get("/tenants/by-phone/777")).status_code == 200
            await client.patch(f"/tenants/{tenant['id']}", json={"phoneNumberId": "778"})
            assert (await client.get("/tenants/by-phone/777")).status_code == 404
            health = (await client.get("/health")).json()
            assert health["status"] == "degraded" and health["redis"] == "disconnected"

            redis.start()
            await asyncio.sleep(1.1)  # the adapter retries Redis after a short pause
            assert (await client.get("/tenants/by-phone/778")).status_code == 200
            assert (await client.get("/health")).json()["redis"] == "connected"
    finally:
        redis.close()
