"""``tenant-service rotate-credentials-key``: store under key A, rotate to B, drop A, everything still opens."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryCache
from tenant_adapters.postgres import PostgresStorage
from tenant_core import SYSTEM, TenantCache
from tenant_core.clock import SystemClock
from tenant_core.credential_types import CredentialType
from tenant_core.use_cases.vault import CredentialVault
from tests.support.builders import tenant


async def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tenant_entrypoints.cli", *args]
    return await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)


def _keys(**keys: bytes) -> str:
    return ",".join(f"{name}={base64.b64encode(key).decode()}" for name, key in keys.items())


async def test_rotation_command_reseals_everything(clean_postgres, postgres_url, tmp_path):
    key_a, key_b = os.urandom(32), os.urandom(32)
    storage = PostgresStorage(clean_postgres)
    cache = TenantCache(InMemoryCache())
    vault_a = CredentialVault(storage, AesGcmCipher({"a": key_a}), cache, SystemClock())
    ids = []
    for n in range(7):
        async with storage.unit_of_work() as uow:
            ids.append((await uow.tenants.add(tenant())).id)
        data = {"clientId": "c", "clientSecret": f"secret-{n}-xxxx", "region": "mypurecloud.com"}
        await vault_a.store(SYSTEM, ids[-1], CredentialType.GENESYS, data)

    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": _keys(b=key_b, a=key_a),
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
    }
    result = await run_cli("rotate-credentials-key", "--batch-size", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert "7/7" in result.stderr
    assert {r["key_id"] for r in await clean_postgres.fetch("SELECT key_id FROM credentials")} == {"b"}

    vault_b = CredentialVault(storage, AesGcmCipher({"b": key_b}), cache, SystemClock())
    for n, tenant_id in enumerate(ids):
        revealed = await vault_b.reveal(SYSTEM, tenant_id, CredentialType.GENESYS)
        assert revealed.credentials.client_secret == f"secret-{n}-xxxx"

    again = await run_cli("rotate-credentials-key", env=env)
    assert again.returncode == 0 and "0/0" in again.stderr


def test_bad_credentials_keys_stop_start_up(tmp_path):
    env = {**os.environ, "CREDENTIALS_KEYS": "a=tooshort", "TENANT_SERVICE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "tenant_entrypoints.cli", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "CREDENTIALS_KEYS" in result.stderr
