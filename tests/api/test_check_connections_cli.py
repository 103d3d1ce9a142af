"""``tenant-service check-connections``: every stored connection checked against fakes on loopback."""

from __future__ import annotations

import os

import pytest

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryCache
from tenant_adapters.postgres import PostgresStorage
from tenant_core import SYSTEM, CredentialType, CredentialVault, SealedValues, TenantCache, TenantDirectory
from tenant_core.clock import SystemClock
from tests.support.builders import tenant
from tests.support.cli import credentials_keys, run_cli
from tests.support.fake_genesys import CLIENT_ID, CLIENT_SECRET, INTEGRATION_ID, REGION, FakeGenesys


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
    assert "2/2" in result.stderr  # the progress bar
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("t_")}
    assert set(lines) == set(ids.values())
    assert " ok " in lines[ids["good"]] and "every check passed" in lines[ids["good"]]
    assert "FAILED" in lines[ids["stale"]] and "wrong region or credentials" in lines[ids["stale"]]
    assert "2 connections checked, 1 failed" in result.stdout
    for output in (result.stdout, result.stderr):
        assert CLIENT_SECRET not in output and "an-old-secret-0002" not in output

    # The verified org was filled in, by the command's own principal.
    row = await clean_postgres.fetchrow("SELECT genesys_org_id FROM tenants WHERE id = $1", ids["good"])
    assert row["genesys_org_id"] is not None

    one = await run_cli("check-connections", "--tenant", ids["good"], env=env)
    assert one.returncode == 0, one.stdout + one.stderr
    assert "1 connections checked, 0 failed" in one.stdout

    unknown = await run_cli("check-connections", "--tenant", "t_0000000000000000", env=env)
    assert unknown.returncode == 1 and "not found" in unknown.stderr
