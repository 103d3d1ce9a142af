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


def _lookup_pids(log, after_line: int) -> set[int]:
    """The workers that logged a resolution after the first ``after_line`` lines of the log."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")][after_line:]
    return {line["pid"] for line in lines if line.get("route", "").startswith("/tenants/by-phone")}


def _log_length(log) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.startswith("{"))


async def _until_both_workers_answered(client, path: str, headers, log, at_least: int = 20) -> list[int]:
    """Statuses of lookups of ``path``, sent until both workers have answered some (granian hands fresh
    connections to whichever worker accepts first: on a busy machine one may take them all for a while)."""
    since, statuses = _log_length(log), []
    for _ in range(400):
        statuses.append((await client.get(path, headers=headers)).status_code)
        if len(statuses) >= at_least and len(_lookup_pids(log, since)) == 2:
            return statuses
    raise AssertionError("only one worker answered 400 lookups: the test would not mean anything")


async def test_phone_change_reaches_both_workers_within_100ms(postgres_url, clean_postgres, clean_redis, tmp_path):
    """After the staleness bound (100 ms), both workers answer the new version, never the old."""
    port = free_port()
    log = tmp_path / "service.log"
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": clean_redis,
        "JWT_SECRET": SECRET,
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
        "ACCESS_LOG_BATCH_MS": "0",  # each access line at once: the test reads which worker answered
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
            # Every worker verifies the token and caches the tenant.
            warm = await _until_both_workers_answered(client, "/tenants/by-phone/7001", service, log)
            assert set(warm) == {200}
            changed = await client.patch(f"/tenants/{created['id']}", json={"phoneNumberId": "7002"}, headers=admin)
            assert changed.status_code == 200
            await asyncio.sleep(0.1)
            old = await _until_both_workers_answered(client, "/tenants/by-phone/7001", service, log)
            new = await _until_both_workers_answered(client, "/tenants/by-phone/7002", service, log)
        assert set(old) == {404} and set(new) == {200}
    finally:
        server.terminate()
        server.wait(timeout=20)
