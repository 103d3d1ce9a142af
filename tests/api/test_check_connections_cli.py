"""``tenant-service check-connections``: every stored connection checked against fakes on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import subprocess
import sys

import pytest

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryCache
from tenant_adapters.postgres import PostgresStorage
from tenant_core import SYSTEM, CredentialType, CredentialVault, SealedValues, TenantCache, TenantDirectory
from tenant_core.clock import SystemClock
from tests.support.builders import tenant
from tests.support.cli import credentials_keys, run_cli
from tests.support.fake_genesys import CLIENT_ID, CLIENT_SECRET, INTEGRATION_ID, REGION, FakeGenesys
from tests.support.servers import free_port


@pytest.fixture
def genesys():
    server = FakeGenesys().start()
    yield server
    server.stop()


async def test_check_connections_reports_each_and_fails_when_one_fails(clean_postgres, postgres_url, tmp_path, genesys):
    key = os.urandom(32)
    storage = PostgresStorage(clean_postgres)
    sealed = SealedValues(AesGcmCipher({"k": key}))
    cache = TenantCache(InMemoryCache())
    vault = CredentialVault(storage, sealed, cache, TenantDirectory(storage.tenants, cache), SystemClock())
    ids = {}
    for name, secret in (("good", CLIENT_SECRET), ("stale", "an-old-secret-0002")):
        async with storage.unit_of_work() as uow:
            ids[name] = (await uow.tenants.add(tenant())).id
        data = {"clientId": CLIENT_ID, "clientSecret": secret, "region": REGION, "integrationId": f"{name}-int"}
        if name == "good":
            data["integrationId"] = INTEGRATION_ID
        await vault.store(SYSTEM, ids[name], CredentialType.GENESYS, data)
    async with storage.unit_of_work() as uow:
        await uow.tenants.add(tenant())  # nothing stored: nothing to check
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": credentials_keys(k=key),
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
        "GENESYS_BASE_URL": genesys.url,
    }

    result = await run_cli("check-connections", "--concurrency", "2", env=env)
    assert result.returncode == 1, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("t_")}
    assert set(lines) == set(ids.values())
    assert " ok " in lines[ids["good"]] and "every check passed" in lines[ids["good"]]
    assert "FAILED" in lines[ids["stale"]] and "wrong region or credentials" in lines[ids["stale"]]
    assert "2 connections: 1 ok, 1 failed, 0 skipped" in result.stdout
    # Off a terminal, the progress bar is one final line and every log line stays whole (JSON).
    # Off a terminal, the progress bar is one final line.
    assert [line for line in result.stderr.splitlines() if line] == [f"checking connections [{'#' * 30}] 2/2"]
    for output in (result.stdout, result.stderr):
        assert CLIENT_SECRET not in output and "an-old-secret-0002" not in output

    # The verified org was filled in, by the command's own principal.
    row = await clean_postgres.fetchrow("SELECT genesys_org_id FROM tenants WHERE id = $1", ids["good"])
    assert row["genesys_org_id"] is not None

    one = await run_cli("check-connections", "--tenant", ids["good"], env=env)
    assert one.returncode == 0, one.stdout + one.stderr
    assert "1 connections: 1 ok, 0 failed, 0 skipped" in one.stdout

    unknown = await run_cli("check-connections", "--tenant", "t_0000000000000000", env=env)
    assert unknown.returncode == 1 and "not found" in unknown.stderr


async def test_whatsapp_without_a_meta_app_is_skipped_not_failed(clean_postgres, postgres_url, tmp_path, genesys):
    """No META_APP_ID: WhatsApp connections cannot be checked here. They are listed as skipped, saying why, and
    the command succeeds when nothing else failed."""
    key = os.urandom(32)
    storage = PostgresStorage(clean_postgres)
    vault = _vault(storage, key)
    async with storage.unit_of_work() as uow:
        whatsapp, good = (await uow.tenants.add(tenant())).id, (await uow.tenants.add(tenant())).id
    token = {"accessToken": "EAAG-x", "phoneNumberId": "1", "wabaId": "w1"}
    await vault.store(SYSTEM, whatsapp, CredentialType.WHATSAPP, token)
    genesys_data = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "region": REGION}
    await vault.store(SYSTEM, good, CredentialType.GENESYS, {**genesys_data, "integrationId": INTEGRATION_ID})
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": credentials_keys(k=key),
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
        "GENESYS_BASE_URL": genesys.url,
    }
    env.pop("META_APP_ID", None)
    env.pop("META_APP_SECRET", None)

    result = await run_cli("check-connections", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("t_")}
    assert " skipped " in lines[whatsapp] and "META_APP_ID" in lines[whatsapp]
    assert " ok " in lines[good]
    assert "2 connections: 1 ok, 0 failed, 1 skipped" in result.stdout


def _vault(storage: PostgresStorage, key: bytes) -> CredentialVault:
    cache = TenantCache(InMemoryCache())
    return CredentialVault(
        storage, SealedValues(AesGcmCipher({"k": key})), cache, TenantDirectory(storage.tenants, cache), SystemClock()
    )


def _screen(output: str) -> list[str]:
    """The lines a terminal shows for ``output``: a carriage return goes back to the line's start, and an erase
    to its end clears what follows (the only controls the bar uses); colours are dropped."""
    shown = []
    for line in output.replace("\r\n", "\n").split("\n"):
        text = line.split("\r")[-1]
        shown.append(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text))
    return [line for line in shown if line]


async def test_the_progress_bar_never_shares_a_line_with_a_log_line(clean_postgres, postgres_url, tmp_path):
    """Genesys unreachable: each check logs a WARNING while the bar runs. On a terminal the bar is redrawn below
    each log line, so no line of the screen holds both; elsewhere every log line is whole JSON and the bar one
    final line."""
    key = os.urandom(32)
    storage = PostgresStorage(clean_postgres)
    vault = _vault(storage, key)
    for _ in range(3):
        async with storage.unit_of_work() as uow:
            tenant_id = (await uow.tenants.add(tenant())).id
        data = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "region": REGION}
        await vault.store(SYSTEM, tenant_id, CredentialType.GENESYS, data)
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": credentials_keys(k=key),
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
        "GENESYS_BASE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: every call fails, logged
    }
    piped = await run_cli("check-connections", "--concurrency", "1", env=env)
    assert piped.returncode == 1
    lines = [line for line in piped.stderr.splitlines() if line]
    assert [json.loads(line)["msg"] for line in lines[:-1]] == ["Genesys call failed"] * 3
    assert lines[-1] == f"checking connections [{'#' * 30}] 3/3"

    returncode, stderr = await asyncio.to_thread(_run_on_a_terminal, ["check-connections", "--concurrency", "1"], env)
    assert returncode == 1
    screen = _screen(stderr)
    logs = [line for line in screen if "Genesys call failed" in line]
    bars = [line for line in screen if line.startswith("checking connections [")]
    assert len(logs) == 3, stderr
    assert all("checking connections" not in line for line in logs)  # no log line shares the bar's line
    assert bars == [f"checking connections [{'#' * 30}] 3/3"] and screen[-1] == bars[0]


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; returns its exit code and what it wrote there."""
    primary, secondary = pty.openpty()
    command = [sys.executable, "-m", "tenant_entrypoints.cli", *args]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=secondary, stdin=subprocess.DEVNULL)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the other end closed: the process is done writing
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return process.wait(timeout=60), b"".join(chunks).decode(errors="replace")
