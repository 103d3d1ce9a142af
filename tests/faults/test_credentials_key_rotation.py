"""Rotating the credentials key as an operator does, against real ``serve`` processes: rotate, restart with only
the new key, and everything sealed still opens; a value left under a missing key stops start-up in one line; a
value that cannot be opened at run time is an ERROR line."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.support.cli import credentials_keys, rotation_rows, run_cli
from tests.support.servers import free_port, separate_database
from tests.support.service_process import ADMIN, SECRET
from tests.support.webhook_receiver import Receiver

PIN = "482910"
WHATSAPP = {"accessToken": "EAAG-rotation-token-7781", "phoneNumberId": "15550009", "wabaId": "w1", "pin": PIN}


@pytest.fixture
async def own_database(postgres_url: str) -> AsyncIterator[str]:
    """A database of its own: no other test's app works on it (their event workers would claim its deliveries
    with other keys)."""
    name = "rotation_" + secrets.token_hex(4)
    url = await separate_database(postgres_url, name)
    yield url
    if url != postgres_url:
        connection = await asyncpg.connect(postgres_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


async def _stop(service) -> None:  # type: ignore[no-untyped-def]
    service.signal(signal.SIGTERM)
    assert await asyncio.to_thread(service.wait) == 0


def _serve_once(env: dict[str, str], timeout: float = 60) -> tuple[int | None, str]:
    """``serve`` run to its end (a refusal): its exit code and stderr. One that is still running after
    ``timeout`` (it did not refuse) is killed with its workers, and its exit code is ``None``."""
    command = [sys.executable, "-m", "tenant_entrypoints.cli", "serve", "--port", str(free_port())]
    environment = {**os.environ, "JWT_SECRET": SECRET, **env}
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=timeout)
        return process.returncode, stderr
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return None, process.communicate()[1]


async def test_after_rotation_the_service_runs_on_the_new_key_alone(service_factory, own_database, tmp_path):
    """Rotate, restart with only the new key: webhooks are signed and delivered, credentials (with their PIN)
    open, and an idempotent create replays its API key."""
    old, new = os.urandom(32), os.urandom(32)
    receiver = Receiver().start()
    env = {"DATABASE_URL": own_database, "WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_SCHEDULE": "0.2,0.5,1,2"}
    body = {"name": "Rotated", "email": "rotated@example.com"}
    try:
        service = await service_factory({**env, "CREDENTIALS_KEYS": credentials_keys(old=old)}).start()
        async with httpx.AsyncClient(base_url=service.url, headers=ADMIN, timeout=10) as client:
            hook = await client.post("/webhooks", json={"url": receiver.url, "eventTypes": ["tenant.created"]})
            receiver.secret = hook.json()["secret"]
            first = await client.post("/tenants", json=body, headers={"Idempotency-Key": "rotation-1"})
            tenant_id, api_key = first.json()["tenant"]["id"], first.json()["apiKey"]
            stored = await client.post(
                f"/tenants/{tenant_id}/credentials", json={"type": "whatsapp", "credentials": WHATSAPP}
            )
            assert stored.status_code == 200, stored.text
            await receiver.wait_for(lambda r: len(r.unique()) == 1)
        await _stop(service)

        cli_env = {
            **os.environ,
            **env,
            "CREDENTIALS_KEYS": credentials_keys(new=new, old=old),
            "TENANT_SERVICE_DATA_DIR": str(tmp_path),
        }
        rotated = await run_cli("rotate-credentials-key", env=cli_env)
        assert rotated.returncode == 0, rotated.stderr
        assert rotation_rows(rotated.stdout) == {
            "credentials": (1, 0, 0),
            "webhook signing secrets": (1, 0, 0),
            "idempotency records": (1, 0, 0),
        }

        restarted = await service_factory({**env, "CREDENTIALS_KEYS": credentials_keys(new=new)}).start()
        async with httpx.AsyncClient(base_url=restarted.url, headers=ADMIN, timeout=10) as client:
            await client.post("/tenants", json={"name": "After", "email": "after@example.com"})
            await receiver.wait_for(lambda r: len(r.unique()) == 2, timeout=30)
            assert receiver.rejected_signatures == 0
            replay = await client.post("/tenants", json=body, headers={"Idempotency-Key": "rotation-1"})
            assert replay.json()["apiKey"] == api_key
            read = await client.get(f"/tenants/{tenant_id}/credentials/whatsapp", params={"reveal": "true"})
            assert read.status_code == 200 and read.json()["credentials"]["pin"] == PIN
        await _stop(restarted)
    finally:
        receiver.stop()


async def test_a_value_under_a_missing_key_stops_start_up_in_one_line(service_factory, own_database, tmp_path):
    """Old key removed before rotating: serve exits 1 with one line naming the kinds and the key id."""
    old, new = os.urandom(32), os.urandom(32)
    env = {"DATABASE_URL": own_database, "WEBHOOK_ALLOW_PRIVATE": "true", "TENANT_SERVICE_DATA_DIR": str(tmp_path)}
    service = await service_factory({**env, "CREDENTIALS_KEYS": credentials_keys(old=old)}).start()
    async with httpx.AsyncClient(base_url=service.url, headers=ADMIN, timeout=10) as client:
        tenant_id = (await client.post("/tenants", json={"name": "T", "email": "t@example.com"})).json()["tenant"]["id"]
        stored = await client.post(
            f"/tenants/{tenant_id}/credentials", json={"type": "whatsapp", "credentials": WHATSAPP}
        )
        assert stored.status_code == 200
        hook = await client.post("/webhooks", json={"url": "http://127.0.0.1:9/h", "eventTypes": ["tenant.created"]})
        assert hook.status_code == 201
    await _stop(service)

    code, stderr = await asyncio.to_thread(_serve_once, {**env, "CREDENTIALS_KEYS": credentials_keys(new=new)})
    assert code == 1, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tenant-service: stored values cannot be opened: credentials, webhook signing secrets")
    assert "key 'old', which is not configured" in lines[0] and "rotate-credentials-key" in lines[0]


async def test_a_value_unreadable_at_run_time_is_an_error_line(service_factory, own_database, tmp_path):
    """A ciphertext damaged while the service runs: each use logs ERROR with kind, record and key id, never the
    value, and counts in a metric; the delivery fails and is retried, the read is a 500."""
    env = {
        "DATABASE_URL": own_database,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "CREDENTIALS_KEYS": credentials_keys(k=os.urandom(32)),
    }
    receiver = Receiver().start()
    service = await service_factory(env).start()
    try:
        async with httpx.AsyncClient(base_url=service.url, headers=ADMIN, timeout=10) as client:
            hook = (await client.post("/webhooks", json={"url": receiver.url, "eventTypes": ["tenant.created"]})).json()
            tenant_id = (await client.post("/tenants", json={"name": "T", "email": "t@example.com"})).json()["tenant"][
                "id"
            ]
            await client.post(f"/tenants/{tenant_id}/credentials", json={"type": "whatsapp", "credentials": WHATSAPP})
            database = await asyncpg.connect(own_database)
            try:
                flip = "SET {0} = set_byte({0}, 20, get_byte({0}, 20) # 1)"
                await database.execute(f"UPDATE webhooks {flip.format('sealed_secret')}")
                await database.execute(f"UPDATE credentials {flip.format('ciphertext')}")
            finally:
                await database.close()
            await client.post("/tenants", json={"name": "U", "email": "u@example.com"})
            read = await client.get(f"/tenants/{tenant_id}/credentials/whatsapp", params={"reveal": "true"})
            assert read.status_code == 500

            async def logged() -> list[dict]:
                for _ in range(300):
                    lines = [
                        json.loads(x) for x in (tmp_path / "service.log").read_text().splitlines() if x.startswith("{")
                    ]
                    errors = [e for e in lines if e["level"] == "ERROR" and e["msg"].startswith("Sealed value")]
                    if {e["kind"] for e in errors} >= {"webhook_secrets", "credentials"}:
                        return errors
                    await asyncio.sleep(0.1)
                raise AssertionError(f"no ERROR line for both kinds: {service.errors_logged()}")

            errors = await logged()
            metrics = (await client.get("/metrics")).text
            for kind in ("webhook_secrets", "credentials"):
                assert f'tenant_service_sealed_values_unreadable_total{{kind="{kind}"}}' in metrics
        webhook_line = next(e for e in errors if e["kind"] == "webhook_secrets")
        assert (webhook_line["webhookId"], webhook_line["keyId"]) == (hook["id"], "k")
        credential_line = next(e for e in errors if e["kind"] == "credentials")
        assert (credential_line["tenantId"], credential_line["type"], credential_line["keyId"]) == (
            tenant_id,
            "whatsapp",
            "k",
        )
        log = (tmp_path / "service.log").read_text()
        assert hook["secret"] not in log and WHATSAPP["accessToken"] not in log and receiver.received == []
        await _stop(service)
    finally:
        receiver.stop()
