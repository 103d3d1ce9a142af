"""``tenant-service import-legacy``: the old service's database, awkward rows included, imported end to end.

The old schema is created in a second database of the test Postgres and filled with the kinds of rows the
platform really has: nulls, duplicates, ``aps1`` regions, old field names, inactive and repeated credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tenant_core import Role
from tests.api.conftest import TEST_CREDENTIALS_KEYS, TEST_JWT_SECRET, bearer

OLD_SCHEMA = """
CREATE TABLE tenants (
    tenant_id varchar(50) PRIMARY KEY, name varchar(255), subdomain varchar(100) UNIQUE, status varchar(20),
    plan varchar(50), rate_limit integer, genesys_org_id varchar(100), genesys_org_name varchar(255),
    genesys_region varchar(100), onboarding_completed boolean DEFAULT false, onboarding_completed_at timestamp,
    whatsapp_configured boolean DEFAULT false, created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp DEFAULT CURRENT_TIMESTAMP, metadata jsonb,
    email text UNIQUE, domain text, phone_number_id text, genesys_integration_id text, settings jsonb);
CREATE TABLE tenant_credentials (
    id serial PRIMARY KEY, tenant_id varchar(50) REFERENCES tenants(tenant_id), credential_type varchar(50),
    credentials jsonb, is_active boolean DEFAULT true, created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE tenant_whatsapp_config (
    id serial PRIMARY KEY, tenant_id varchar(50) UNIQUE REFERENCES tenants(tenant_id), waba_id varchar(100),
    phone_number_id varchar(100), access_token text, business_id varchar(100), display_phone_number varchar(50),
    quality_rating varchar(50), is_active boolean DEFAULT true, created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE tenant_api_keys (
    api_key varchar(100) PRIMARY KEY, tenant_id varchar(50) REFERENCES tenants(tenant_id), name varchar(255),
    is_active boolean DEFAULT true, created_at timestamp DEFAULT CURRENT_TIMESTAMP, last_used timestamp);
"""

DEMO_KEY = "sk_" + "d" * 64
INACTIVE_KEY = "sk_" + "e" * 64
SECRETS = ["old-genesys-secret-1", "newer-genesys-secret-2", "old-open-msg-secret", "EAAG-old-token-1", DEMO_KEY]


@pytest.fixture
async def legacy_db(postgres_url: str, clean_postgres) -> AsyncIterator[str]:
    """A fresh database with the old service's schema, next to the service's own."""
    name = "legacy_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f"CREATE DATABASE {name}")
    dsn = postgres_url.replace("/postgres?", f"/{name}?", 1)
    conn = await asyncpg.connect(dsn)
    await conn.execute(OLD_SCHEMA)
    await conn.close()
    yield dsn
    await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    await admin.close()


async def fill_awkward_rows(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    tenant = (
        "INSERT INTO tenants (tenant_id, name, subdomain, status, plan, rate_limit, genesys_org_id, "
        "genesys_region, email, phone_number_id, genesys_integration_id, settings, metadata, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    )
    rows = [
        # id, name, subdomain, status, plan, rate, org, region, email, phone, integration, settings, metadata
        ("demo-tenant-001", "Demo", "demo", "active", "standard", 100, "org-demo", "aps1", "Ops@Demo.com",
         None, None, '{"timezone": "Asia/Kolkata", "theme": "dark"}', '{"source": "seed"}'),
        ("t_0123456789abcdef", None, None, None, None, None, None, "aps1.mypurecloud.com", None,
         "15550000002", None, None, None),  # no name, no email, mistaken region host
        ("legacy-dup-email", "Dup", "dup", "inactive", "gold", 0, None, "narnia-1", "ops@demo.com",
         None, None, None, None),  # duplicate email (case), odd status, plan, rate and region
        ("bad-email-tenant", "Bad", None, "active", "premium", 500, None, "us-east-1", "not an email",
         None, None, None, None),
    ]  # fmt: skip
    for n, row in enumerate(rows):
        await conn.execute(tenant, *row, _at(n))
    credential = (
        "INSERT INTO tenant_credentials (tenant_id, credential_type, credentials, is_active, updated_at) "
        "VALUES ($1, $2, $3, $4, $5)"
    )
    old_genesys = {"clientId": "c-1", "clientSecret": "old-genesys-secret-1", "region": "aps1"}
    newer_genesys = {
        "clientId": "c-2",
        "clientSecret": "newer-genesys-secret-2",
        "region": "aps1.mypurecloud.com",
        "openMsgSecret": "old-open-msg-secret",
        "openMsgIntegrationId": "intg-demo",
        "environment": "prod",  # a field nobody reads any more
    }
    await conn.execute(credential, "demo-tenant-001", "genesys", json.dumps(old_genesys), True, _at(1))
    await conn.execute(credential, "demo-tenant-001", "genesys", json.dumps(newer_genesys), True, _at(2))
    await conn.execute(credential, "demo-tenant-001", "genesys", json.dumps(old_genesys), False, _at(3))
    await conn.execute(
        "INSERT INTO tenant_whatsapp_config (tenant_id, waba_id, phone_number_id, access_token, business_id) "
        "VALUES ('demo-tenant-001', '1020', '15550000001', 'EAAG-old-token-1', 'biz-1')"
    )
    await conn.execute(
        "INSERT INTO tenant_api_keys (api_key, tenant_id, name, is_active) VALUES ($1, 'demo-tenant-001', NULL, true),"
        " ($2, 'demo-tenant-001', 'old', false), ('plainkey123', 'bad-email-tenant', 'weird', true)",
        DEMO_KEY,
        INACTIVE_KEY,
    )
    await conn.close()


def _at(n: int):
    from datetime import datetime, timedelta

    return datetime(2025, 1, 1) + timedelta(days=n)


def cli_env(postgres_url: str, redis_url: str | None = None) -> dict[str, str]:
    """The service's own settings: with its REDIS_URL, the import's writes invalidate the running service's caches."""
    return {
        **os.environ,
        **({"REDIS_URL": redis_url} if redis_url else {}),
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": TEST_CREDENTIALS_KEYS,
        "JWT_SECRET": TEST_JWT_SECRET,
        "LOG_FORMAT": "json",
    }


async def import_legacy(
    postgres_url: str, source: str, *flags: str, redis_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tenant_entrypoints.cli", "import-legacy", "--from", source, *flags]
    env = cli_env(postgres_url, redis_url)
    return await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)


def summary_counts(stdout: str) -> dict[str, list[int]]:
    """``{"tenants": [imported, updated, unchanged, skipped], …}`` from the summary table."""
    counts = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in ("tenants", "credentials") and len(parts) == 5:
            counts[parts[0]] = [int(p) for p in parts[1:]]
        if line.startswith("API keys"):
            counts["keys"] = [int(p) for p in parts[2:]]
    return counts


async def test_import_keeps_ids_seals_secrets_and_reports_every_awkward_row(
    client, anonymous, postgres_url, legacy_db, secrets_in_play, clean_postgres
):
    secrets_in_play.extend(SECRETS)
    await fill_awkward_rows(legacy_db)
    result = await import_legacy(postgres_url, legacy_db)
    assert result.returncode == 0, result.stderr
    assert summary_counts(result.stdout) == {"tenants": [4, 0, 0, 0], "credentials": [2, 0, 0, 2], "keys": [1, 0, 0, 2]}
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    report = result.stdout
    assert "no email" in report and "email already belongs to another tenant" in report
    assert "superseded by a newer active row" in report and "inactive" in report
    assert "not an sk_ key" in report and "unused fields dropped: environment" in report

    demo = (await client.get("/tenants/demo-tenant-001")).json()
    assert demo["genesysRegion"] == "aps1.pure.cloud" and demo["email"] == "Ops@demo.com"
    assert demo["settings"] == {"timezone": "Asia/Kolkata"}
    assert demo["metadata"] == {"source": "seed", "legacyImport": {"settings": {"theme": "dark"}}}
    assert demo["phoneNumberId"] == "15550000001" and demo["whatsappConfigured"] is True
    assert demo["genesysIntegrationId"] == "intg-demo"
    service = bearer(Role.SERVICE, subject="genesys-api")
    genesys = (await client.get("/api/tenants/demo-tenant-001/credentials/genesys", headers=service)).json()
    assert genesys["clientSecret"] == "newer-genesys-secret-2" and genesys["webhookSecret"] == "old-open-msg-secret"
    assert genesys["integrationId"] == "intg-demo" and genesys["region"] == "aps1.pure.cloud"
    meta = (await client.get("/tenants/demo-tenant-001/credentials/meta", headers=service)).json()
    assert meta["accessToken"] == "EAAG-old-token-1" and meta["wabaId"] == "1020"
    assert (await client.get("/tenants/by-phone/15550000001")).json()["tenantId"] == "demo-tenant-001"

    # The old API key keeps working, as the tenant it belonged to; the inactive one does not.
    own = await anonymous.get("/tenants/demo-tenant-001", headers={"X-API-Key": DEMO_KEY})
    assert own.status_code == 200
    assert (await anonymous.get("/tenants/demo-tenant-001", headers={"X-API-Key": INACTIVE_KEY})).status_code == 401

    nameless = (await client.get("/tenants/t_0123456789abcdef")).json()
    assert nameless["name"] == "t_0123456789abcdef" and nameless["email"] is None
    assert nameless["genesysRegion"] == "aps1.pure.cloud"
    dup = (await client.get("/tenants/legacy-dup-email")).json()
    assert dup["email"] is None and dup["status"] == "suspended" and dup["plan"] == "standard"
    assert dup["rateLimit"] == 1 and dup["genesysRegion"] is None
    assert dup["metadata"]["legacyImport"]["rejected"] == {"email": "ops@demo.com", "genesysRegion": "narnia-1"}
    bad = (await client.get("/tenants/bad-email-tenant")).json()
    assert bad["email"] is None and bad["genesysRegion"] == "mypurecloud.com"
    assert bad["metadata"]["legacyImport"]["rejected"]["email"] == "not an email"

    # Nothing in the service's database is a secret in clear.
    dump = repr([dict(r) for r in await clean_postgres.fetch("SELECT * FROM credentials")])
    dump += repr([dict(r) for r in await clean_postgres.fetch("SELECT * FROM api_keys")])
    for secret in SECRETS:
        assert secret not in dump


async def test_rerun_is_a_no_op_and_dry_run_writes_nothing(
    client, postgres_url, legacy_db, clean_postgres, clean_redis
):
    await fill_awkward_rows(legacy_db)
    dry = await import_legacy(postgres_url, legacy_db, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("DRY RUN") and summary_counts(dry.stdout)["tenants"][0] == 4
    assert await clean_postgres.fetchval("SELECT count(*) FROM tenants") == 0
    assert await clean_postgres.fetchval("SELECT count(*) FROM audit_log") == 0

    first = await import_legacy(postgres_url, legacy_db)
    audit_rows = await clean_postgres.fetchval("SELECT count(*) FROM audit_log")
    versions = await clean_postgres.fetch("SELECT id, version FROM tenants ORDER BY id")
    again = await import_legacy(postgres_url, legacy_db)
    assert first.returncode == again.returncode == 0
    assert summary_counts(again.stdout) == {"tenants": [0, 0, 4, 0], "credentials": [0, 0, 2, 2], "keys": [0, 0, 1, 2]}
    assert await clean_postgres.fetchval("SELECT count(*) FROM audit_log") == audit_rows
    assert await clean_postgres.fetch("SELECT id, version FROM tenants ORDER BY id") == versions

    # A change in the old database is carried over as an update.
    old = await asyncpg.connect(legacy_db)
    await old.execute("UPDATE tenants SET name = 'Demo Renamed' WHERE tenant_id = 'demo-tenant-001'")
    await old.close()
    assert (await client.get("/tenants/demo-tenant-001")).json()["name"] == "Demo"  # now cached by the service
    changed = await import_legacy(postgres_url, legacy_db, redis_url=clean_redis)
    assert summary_counts(changed.stdout)["tenants"] == [0, 1, 3, 0]
    assert (await client.get("/tenants/demo-tenant-001")).json()["name"] == "Demo Renamed"


async def test_an_interrupted_import_is_finished_by_running_it_again(postgres_url, legacy_db, clean_postgres):
    total = 1500
    old = await asyncpg.connect(legacy_db)
    await old.executemany(
        "INSERT INTO tenants (tenant_id, name, email, genesys_region) VALUES ($1, $2, $3, 'aps1')",
        [(f"bulk-{n:05d}", f"Bulk {n}", f"ops{n}@bulk.example") for n in range(total)],
    )
    await old.executemany(
        "INSERT INTO tenant_api_keys (api_key, tenant_id) VALUES ($1, $2)",
        [(f"sk_{n:064x}", f"bulk-{n:05d}") for n in range(total)],
    )
    await old.close()
    command = [sys.executable, "-m", "tenant_entrypoints.cli", "import-legacy", "--from", legacy_db]
    process = subprocess.Popen(command, env=cli_env(postgres_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while await clean_postgres.fetchval("SELECT count(*) FROM tenants") < 100 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = await clean_postgres.fetchval("SELECT count(*) FROM tenants")
    assert 100 <= partial < total, "the import finished before it could be interrupted; raise the row count"

    finished = await import_legacy(postgres_url, legacy_db)
    assert finished.returncode == 0, finished.stderr
    imported, updated, unchanged, skipped = summary_counts(finished.stdout)["tenants"]
    assert (updated, skipped) == (0, 0) and imported + unchanged == total and unchanged >= partial
    assert await clean_postgres.fetchval("SELECT count(*) FROM tenants") == total
    assert await clean_postgres.fetchval("SELECT count(DISTINCT tenant_id) FROM api_keys") == total
    # Every tenant has its key and exactly one import event: none lost, none doubled.
    per_tenant = await clean_postgres.fetch(
        "SELECT tenant_id, count(*) AS n FROM audit_log WHERE action = 'tenant.imported' GROUP BY tenant_id"
    )
    assert len(per_tenant) == total and {r["n"] for r in per_tenant} == {1}
