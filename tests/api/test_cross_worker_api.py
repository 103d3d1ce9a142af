"""Two worker processes, one Redis: a write is visible to every worker's next lookup within 100 ms."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx

from tenant_adapters.jwt import JwtTokens
from tenant_core import Principal, Role
from tests.support.servers import free_port

SECRET = "cross-worker-secret-" + "c" * 32


async def _until_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(150):
            try:
                if (await client.get(f"{url}/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("service did not become ready")


async def test_phone_change_reaches_both_workers_within_100ms(postgres_url, clean_postgres, clean_redis, tmp_path):
    port = free_port()
    log = tmp_path / "service.log"
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": clean_redis,
        "JWT_SECRET": SECRET,
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
    }
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "tenant_entrypoints.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    tokens = JwtTokens(SECRET)
    admin = {"Authorization": "Bearer " + tokens.issue(Principal("admin", Role.ADMIN))}
    service = {"Authorization": "Bearer " + tokens.issue(Principal("router", Role.SERVICE))}
    fresh_connections = httpx.Limits(max_keepalive_connections=0)
    try:
        await _until_ready(url)
        async with httpx.AsyncClient(base_url=url, limits=fresh_connections) as client:
            created = (
                await client.post(
                    "/tenants", json={"name": "X", "email": "x@x.com", "phoneNumberId": "7001"}, headers=admin
                )
            ).json()["tenant"]
            for _ in range(40):  # every worker verifies the token and caches the tenant in its L1
                assert (await client.get("/tenants/by-phone/7001", headers=service)).status_code == 200
            changed = await client.patch(f"/tenants/{created['id']}", json={"phoneNumberId": "7002"}, headers=admin)
            assert changed.status_code == 200
            await asyncio.sleep(0.1)
            old = [(await client.get("/tenants/by-phone/7001", headers=service)).status_code for _ in range(20)]
            new = [(await client.get("/tenants/by-phone/7002", headers=service)).status_code for _ in range(20)]
        assert old == [404] * 20 and new == [200] * 20
    finally:
        server.terminate()
        server.wait(timeout=20)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    served_by = {line["pid"] for line in lines if line.get("route", "").startswith("/tenants/by-phone")}
    assert len(served_by) == 2, "both workers must have served lookups for the test to mean anything"
