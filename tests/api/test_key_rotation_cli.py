"""``tenant-service rotate-credentials-key``: every sealed kind re-sealed under the first key, reported per kind."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryCache, InMemoryWebhookSender
from tenant_adapters.postgres import PostgresStorage
from tenant_core import SYSTEM, NewWebhook, SealedValues, TenantCache, TenantDirectory, TenantService
from tenant_core.clock import SystemClock
from tenant_core.credential_types import CredentialType
from tenant_core.use_cases.vault import CredentialVault
from tenant_core.use_cases.webhooks import WebhookSubscriptions
from tests.support.builders import create_command, tenant

SEALED_TABLES = ("credentials", "webhooks", "idempotency_keys")


async def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tenant_entrypoints.cli", *args]
    return await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)


def _keys(**keys: bytes) -> str:
    return ",".join(f"{name}={base64.b64encode(key).decode()}" for name, key in keys.items())


def _rows(summary: str) -> dict[str, tuple[int, int, int]]:
    """The per-kind rows of the rotation summary: label → (resealed, unreadable, remaining)."""
    rows = {}
    for line in summary.splitlines():
        *label, resealed, unreadable, remaining = ["", "", "", *line.split()]
        if resealed.isdigit():
            rows[" ".join(label).strip()] = (int(resealed), int(unreadable), int(remaining))
    return rows


async def _seal_one_of_each(pool, key_id: str, key: bytes, credentials: int = 1) -> SealedValues:
    """Credentials (a WhatsApp one with its PIN), a webhook secret and an idempotency record, under ``key``."""
    storage, cache, clock = PostgresStorage(pool), TenantCache(InMemoryCache()), SystemClock()
    sealed = SealedValues(AesGcmCipher({key_id: key}))
    vault = CredentialVault(storage, sealed, cache, clock)
    for n in range(credentials):
        async with storage.unit_of_work() as uow:
            tenant_id = (await uow.tenants.add(tenant())).id
        data = {"accessToken": f"EAAG-token-{n}-xxxx", "phoneNumberId": f"1555{n}", "wabaId": "w", "pin": "123456"}
        await vault.store(SYSTEM, tenant_id, CredentialType.WHATSAPP, data)
    directory = TenantDirectory(storage.tenants, cache)
    await WebhookSubscriptions(storage, sealed, InMemoryWebhookSender(), directory, clock).create(
        SYSTEM, NewWebhook("https://hooks.example/h", ["tenant.created"])
    )
    await TenantService(storage, cache, clock, sealed=sealed).create(SYSTEM, create_command(), "idem-1")
    return sealed


async def test_rotation_reseals_every_kind_and_reports_each(clean_postgres, postgres_url, tmp_path):
    """Credentials, webhook signing secrets and idempotency records all move to the new key; rerunning is a no-op."""
    key_a, key_b = os.urandom(32), os.urandom(32)
    await _seal_one_of_each(clean_postgres, "a", key_a, credentials=7)
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": _keys(b=key_b, a=key_a),
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
    }
    result = await run_cli("rotate-credentials-key", "--batch-size", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert "9/9" in result.stderr  # the progress bar counts every kind
    assert _rows(result.stdout) == {
        "credentials": (7, 0, 0),
        "webhook signing secrets": (1, 0, 0),
        "idempotency records": (1, 0, 0),
    }
    for table in SEALED_TABLES:
        assert {r["key_id"] for r in await clean_postgres.fetch(f"SELECT key_id FROM {table}")} == {"b"}, table

    again = await run_cli("rotate-credentials-key", env=env)
    assert again.returncode == 0 and "0/0" in again.stderr
    assert all(row == (0, 0, 0) for row in _rows(again.stdout).values())


async def test_values_no_key_opens_are_logged_reported_and_exit_1(clean_postgres, postgres_url, tmp_path):
    """A value under a key that is gone is reported per kind, logged at ERROR (kind, record, key id; never the
    value), and the command exits 1; everything else is still re-sealed."""
    key_a, key_b, lost = os.urandom(32), os.urandom(32), os.urandom(32)
    await _seal_one_of_each(clean_postgres, "a", key_a)
    storage, cache, clock = PostgresStorage(clean_postgres), TenantCache(InMemoryCache()), SystemClock()
    async with storage.unit_of_work() as uow:
        orphan = (await uow.tenants.add(tenant())).id
    vault = CredentialVault(storage, SealedValues(AesGcmCipher({"lost": lost})), cache, clock)
    secret = "genesys-secret-never-logged"
    await vault.store(
        SYSTEM, orphan, CredentialType.GENESYS, {"clientId": "c", "clientSecret": secret, "region": "mypurecloud.com"}
    )

    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": _keys(b=key_b, a=key_a),
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
    }
    result = await run_cli("rotate-credentials-key", env=env)
    assert result.returncode == 1
    rows = _rows(result.stdout)
    assert rows["credentials"] == (1, 1, 1) and rows["webhook signing secrets"] == (1, 0, 0)
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    errors = [e for e in errors if e["level"] == "ERROR"]
    assert [(e["kind"], e["tenant_id"], e["type"], e["key_id"]) for e in errors] == [
        ("credentials", orphan, "genesys", "lost")
    ]
    assert secret not in result.stdout + result.stderr


def test_bad_credentials_keys_stop_start_up(tmp_path):
    env = {**os.environ, "CREDENTIALS_KEYS": "a=tooshort", "TENANT_SERVICE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "tenant_entrypoints.cli", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "CREDENTIALS_KEYS" in result.stderr
