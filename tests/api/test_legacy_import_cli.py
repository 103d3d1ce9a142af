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
        ("odd-settings", "", None, None, None, None, None, None, None, None, None, '"Asia/Dubai"', None),
    ]  # fmt: skip
    for n, row in enumerate(rows):
        await conn.execute(tenant, *row, _at(n))
    await conn.execute("UPDATE tenants SET onboarding_completed_at = $1 WHERE tenant_id = 'odd-settings'", _at(9))
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
    await conn.execute(credential, "demo-tenant-001", "sms", "{}", True, _at(3))  # tenant_credentials#4
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


def summary(stdout: str) -> dict[str, dict[str, int]]:
    """``{"tenants": {"imported": n, "updated": n, …}, "credentials": …, "keys": …}`` from the summary table,
    whatever its columns."""
    lines = stdout.splitlines()
    at = next(n for n, line in enumerate(lines) if line.split() and line.split()[0] == "imported")
    columns = lines[at].split()
    table = {}
    for line, name in zip(lines[at + 1 : at + 4], ("tenants", "credentials", "keys"), strict=True):
        table[name] = dict(zip(columns, map(int, line.split()[-len(columns) :]), strict=True))
    return table


def summary_counts(stdout: str) -> dict[str, list[int]]:
    """``{"tenants": [imported, updated, unchanged, conflict, skipped], …}`` from the summary table."""
    outcomes = ("imported", "updated", "unchanged", "conflict", "skipped")
    return {name: [row.get(o, 0) for o in outcomes] for name, row in summary(stdout).items()}


async def test_import_keeps_ids_seals_secrets_and_reports_every_awkward_row(
    client, anonymous, postgres_url, legacy_db, secrets_in_play, clean_postgres
):
    secrets_in_play.extend(SECRETS)
    await fill_awkward_rows(legacy_db)
    result = await import_legacy(postgres_url, legacy_db)
    assert result.returncode == 0, result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    report = result.stdout
    assert "no email" in report and "email already belongs to another tenant" in report
    assert "superseded by a newer active row" in report and "inactive" in report
    assert "not an sk_ key" in report and "unused fields dropped: environment" in report

    demo = (await client.get("/tenants/demo-tenant-001")).json()
    assert demo["genesysRegion"] == "aps1.pure.cloud" and demo["email"] == "Ops@demo.com"
    assert demo["settings"] == {"timezone": "Asia/Kolkata"}
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
    bad = (await client.get("/tenants/bad-email-tenant")).json()
    assert bad["email"] is None and bad["genesysRegion"] == "mypurecloud.com"

    # Nothing in the service's database is a secret in clear.
    dump = repr([dict(r) for r in await clean_postgres.fetch("SELECT * FROM credentials")])
    dump += repr([dict(r) for r in await clean_postgres.fetch("SELECT * FROM api_keys")])
    for secret in SECRETS:
        assert secret not in dump


async def test_every_value_the_import_changes_or_refuses_is_kept_in_metadata(client, postgres_url, legacy_db):
    """``inactive``, ``gold``, a blank name, a clamped rate limit, other spellings, refused values, settings that
    are a JSON string, columns this service has no field for: each old value is in ``metadata.legacyImport``."""
    await fill_awkward_rows(legacy_db)
    old = await asyncpg.connect(legacy_db)
    await old.execute("ALTER TABLE tenants ADD COLUMN last_ip inet")  # a column, and a type, JSON does not have
    await old.execute("UPDATE tenants SET last_ip = '10.0.0.1' WHERE tenant_id = 'odd-settings'")
    await old.close()
    assert (await import_legacy(postgres_url, legacy_db)).returncode == 0

    async def kept(tenant_id: str) -> dict:
        return (await client.get(f"/tenants/{tenant_id}")).json()["metadata"]

    assert await kept("demo-tenant-001") == {
        "source": "seed",
        "legacyImport": {
            "settings": {"theme": "dark"},
            "changed": {"email": "Ops@Demo.com", "genesysRegion": "aps1", "whatsappConfigured": False},
        },
    }
    assert (await kept("legacy-dup-email"))["legacyImport"] == {
        "changed": {"status": "inactive", "plan": "gold", "rateLimit": 0},
        "rejected": {"email": "ops@demo.com", "genesysRegion": "narnia-1"},
    }
    assert (await kept("t_0123456789abcdef"))["legacyImport"] == {
        "changed": {"name": None, "genesysRegion": "aps1.mypurecloud.com"},
        "rejected": {"phoneNumberId": "15550000002"},
    }
    assert (await kept("bad-email-tenant"))["legacyImport"] == {
        "changed": {"genesysRegion": "us-east-1"},
        "rejected": {"email": "not an email"},
    }
    odd = (await client.get("/tenants/odd-settings")).json()
    assert odd["name"] == "odd-settings" and odd["settings"] == {}
    assert odd["metadata"]["legacyImport"] == {
        "changed": {"name": ""},
        "settings": "Asia/Dubai",
        "columns": {"onboarding_completed_at": "2025-01-10T00:00:00Z", "last_ip": "10.0.0.1"},
    }


async def test_counts_are_by_kind_of_thing(postgres_url, legacy_db):
    """The unknown credential row ``tenant_credentials#4`` counts as a skipped credential, not as a tenant."""
    await fill_awkward_rows(legacy_db)
    result = await import_legacy(postgres_url, legacy_db)
    assert result.returncode == 0, result.stderr
    assert "tenant_credentials#4" in result.stdout
    counts = summary(result.stdout)
    assert counts["tenants"]["imported"] == 5 and counts["tenants"]["skipped"] == 0
    assert (counts["credentials"]["imported"], counts["credentials"]["skipped"]) == (2, 3)
    assert (counts["keys"]["imported"], counts["keys"]["skipped"]) == (1, 2)


async def test_a_phone_number_id_only_on_the_tenant_row_does_not_route(client, postgres_url, legacy_db):
    """The old service routed by its WhatsApp configuration only; so does the import (the number is kept aside)."""
    await fill_awkward_rows(legacy_db)
    result = await import_legacy(postgres_url, legacy_db)
    assert "did not route it" in result.stdout
    assert (await client.get("/tenants/by-phone/15550000002")).status_code == 404
    assert (await client.get("/tenants/t_0123456789abcdef")).json()["phoneNumberId"] is None


async def test_rerun_is_a_no_op_and_dry_run_writes_nothing(
    client, postgres_url, legacy_db, clean_postgres, clean_redis
):
    await fill_awkward_rows(legacy_db)
    dry = await import_legacy(postgres_url, legacy_db, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("DRY RUN") and summary_counts(dry.stdout)["tenants"][0] == 5
    for table in ("tenants", "audit_log", "events", "legacy_imports"):
        assert await clean_postgres.fetchval(f"SELECT count(*) FROM {table}") == 0, table

    first = await import_legacy(postgres_url, legacy_db)
    audit_rows = await clean_postgres.fetchval("SELECT count(*) FROM audit_log")
    versions = await clean_postgres.fetch("SELECT id, version FROM tenants ORDER BY id")
    again = await import_legacy(postgres_url, legacy_db)
    assert first.returncode == again.returncode == 0
    assert summary_counts(again.stdout) == {
        "tenants": [0, 0, 5, 0, 0],
        "credentials": [0, 0, 2, 0, 3],
        "keys": [0, 0, 1, 0, 2],
    }
    assert await clean_postgres.fetchval("SELECT count(*) FROM audit_log") == audit_rows
    assert await clean_postgres.fetch("SELECT id, version FROM tenants ORDER BY id") == versions

    # A change in the old database is carried over as an update.
    old = await asyncpg.connect(legacy_db)
    await old.execute("UPDATE tenants SET name = 'Demo Renamed' WHERE tenant_id = 'demo-tenant-001'")
    await old.close()
    assert (await client.get("/tenants/demo-tenant-001")).json()["name"] == "Demo"  # now cached by the service
    changed = await import_legacy(postgres_url, legacy_db, redis_url=clean_redis)
    assert summary_counts(changed.stdout)["tenants"] == [0, 1, 4, 0, 0]
    assert (await client.get("/tenants/demo-tenant-001")).json()["name"] == "Demo Renamed"


async def test_an_interrupted_import_is_finished_by_running_it_again(postgres_url, legacy_db, clean_postgres):
    total = 600  # one transaction a tenant: enough to interrupt after 100, few enough to finish quickly
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
    imported, updated, unchanged, conflict, skipped = summary_counts(finished.stdout)["tenants"]
    assert (updated, conflict, skipped) == (0, 0, 0) and imported + unchanged == total and unchanged >= partial
    assert await clean_postgres.fetchval("SELECT count(*) FROM tenants") == total
    assert await clean_postgres.fetchval("SELECT count(DISTINCT tenant_id) FROM api_keys") == total
    # Every tenant has its key and exactly one import event: none lost, none doubled.
    per_tenant = await clean_postgres.fetch(
        "SELECT tenant_id, count(*) AS n FROM audit_log WHERE action = 'tenant.imported' GROUP BY tenant_id"
    )
    assert len(per_tenant) == total and {r["n"] for r in per_tenant} == {1}


NEW_KEY = "sk_" + "f" * 64


async def test_rerun_keeps_what_changed_here_and_applies_what_changed_in_the_old_database(
    client, anonymous, postgres_url, legacy_db, clean_redis
):
    """Here: the imported key revoked, the tenant suspended, its phone number and org id changed. In the old
    database: name, e-mail, phone number and org id changed, a key added. The rerun applies the old database's
    changes where nothing changed here, keeps this service's values, and reports each conflict with both values."""
    await fill_awkward_rows(legacy_db)
    assert (await import_legacy(postgres_url, legacy_db)).returncode == 0
    tenant = "/tenants/demo-tenant-001"
    [key] = (await client.get(f"{tenant}/api-keys")).json()["apiKeys"]
    assert (await client.delete(f"{tenant}/api-keys/{key['id']}")).status_code == 200
    assert (await client.patch(tenant, json={"status": "suspended", "genesysOrgId": "org-here"})).status_code == 200
    whatsapp = {"accessToken": "EAAG-new-token-2", "phoneNumberId": "15550000009", "wabaId": "1020"}
    stored = await client.post(f"{tenant}/credentials", json={"type": "whatsapp", "credentials": whatsapp})
    assert stored.status_code == 200, stored.text
    old = await asyncpg.connect(legacy_db)
    await old.execute(
        "UPDATE tenants SET name = 'Demo Renamed', email = 'renamed@demo.com', genesys_org_id = 'org-old' "
        "WHERE tenant_id = 'demo-tenant-001'"
    )
    await old.execute("UPDATE tenant_whatsapp_config SET phone_number_id = '15550000007'")
    await old.execute("INSERT INTO tenant_api_keys (api_key, tenant_id) VALUES ($1, 'demo-tenant-001')", NEW_KEY)
    await old.close()

    rerun = await import_legacy(postgres_url, legacy_db, redis_url=clean_redis)
    assert rerun.returncode == 0, rerun.stderr
    demo = (await client.get(tenant)).json()
    assert (demo["name"], demo["email"]) == ("Demo Renamed", "renamed@demo.com")  # the old database's changes
    assert demo["status"] == "suspended" and demo["genesysOrgId"] == "org-here"  # this service's, kept
    assert demo["phoneNumberId"] == "15550000009"
    assert (await client.get("/tenants/by-phone/15550000007")).status_code == 404
    meta = (await client.get(f"{tenant}/credentials/meta", headers=bearer(Role.SERVICE))).json()
    assert meta["accessToken"] == "EAAG-new-token-2" and meta["phoneNumberId"] == "15550000009"
    keys = {k["prefix"] for k in (await client.get(f"{tenant}/api-keys")).json()["apiKeys"]}
    assert keys == {NEW_KEY[:11]}  # the revoked key stays revoked; the new one is imported
    assert (await anonymous.get(tenant, headers={"X-API-Key": DEMO_KEY})).status_code == 401

    assert summary(rerun.stdout)["tenants"]["conflict"] == 1 and summary(rerun.stdout)["credentials"]["conflict"] == 1
    [tenant_line] = [ln for ln in rerun.stdout.splitlines() if ln.startswith("demo-tenant-001") and " tenant " in ln]
    assert 'genesysOrgId (old database "org-old", here "org-here")' in tenant_line
    assert "applied from the old database: email, metadata.legacyImport, name" in tenant_line
    [whatsapp_line] = [ln for ln in rerun.stdout.splitlines() if "credentials.whatsapp " in ln]
    assert 'phoneNumberId (old database "15550000007", here "15550000009")' in whatsapp_line


async def test_a_legacy_row_never_touches_a_tenant_created_in_this_service(client, postgres_url, legacy_db):
    """A legacy id equal to the id of a tenant created here: reported and skipped, the tenant left as it was."""
    created = (await client.post("/tenants", json={"name": "Ours", "email": "ours@ours.com"})).json()["tenant"]
    genesys = {"clientId": "ours", "clientSecret": "our-secret-0001", "region": "aps1", "integrationId": "i-ours"}
    await client.post(f"/tenants/{created['id']}/credentials", json={"type": "genesys", "credentials": genesys})
    before = (await client.get(f"/tenants/{created['id']}")).json()
    old = await asyncpg.connect(legacy_db)
    await old.execute(
        "INSERT INTO tenants (tenant_id, name, email, genesys_integration_id) "
        "VALUES ($1, 'Theirs', 'x@old.com', 'i-9')",
        created["id"],
    )
    theirs = {"clientId": "theirs", "clientSecret": "their-secret-0002", "region": "aps1", "integrationId": "i-9"}
    await old.execute(
        "INSERT INTO tenant_credentials (tenant_id, credential_type, credentials) VALUES ($1, 'genesys', $2)",
        created["id"],
        json.dumps(theirs),
    )
    await old.close()

    result = await import_legacy(postgres_url, legacy_db)
    assert result.returncode == 0, result.stderr
    assert "a tenant created in this service has this id: left untouched" in result.stdout
    assert summary(result.stdout)["tenants"]["skipped"] == 1
    assert (await client.get(f"/tenants/{created['id']}")).json() == before
    service = bearer(Role.SERVICE)
    stored = (await client.get(f"/api/tenants/{created['id']}/credentials/genesys", headers=service)).json()
    assert stored["clientSecret"] == "our-secret-0001" and stored["integrationId"] == "i-ours"


async def test_a_row_that_cannot_be_stored_is_skipped_and_reported_on_every_run(client, postgres_url, legacy_db):
    """An old id with a trailing newline (``evil\\n``) is reported and skipped, run after run; the rest imports."""
    old = await asyncpg.connect(legacy_db)
    await old.execute("INSERT INTO tenants (tenant_id, name) VALUES ($1, 'Evil'), ('fine-1', 'Fine')", "evil\n")
    await old.execute("INSERT INTO tenant_api_keys (api_key, tenant_id) VALUES ($1, $2)", NEW_KEY, "evil\n")
    await old.close()
    for _ in range(2):
        result = await import_legacy(postgres_url, legacy_db)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        [line] = [ln for ln in result.stdout.splitlines() if ln.split()[:2] == ["evil\\n", "tenant"]]
        assert "its id 'evil\\n' cannot be stored here" in line
        assert summary(result.stdout)["tenants"]["skipped"] == 1 and summary(result.stdout)["keys"]["skipped"] == 1
    assert (await client.get("/tenants/fine-1")).status_code == 200


def bare_env(data_dir: str, **extra: str) -> dict[str, str]:
    """A fresh machine's environment: no database, no keys, no secrets; only a data directory."""
    removed = ("DATABASE_URL", "CREDENTIALS_KEYS", "JWT_SECRET", "REDIS_URL", "TENANT_SERVICE_DATA_DIR")
    return {**{k: v for k, v in os.environ.items() if k not in removed}, "TENANT_SERVICE_DATA_DIR": data_dir, **extra}


async def test_dry_run_on_a_fresh_data_directory_leaves_it_empty(legacy_db, tmp_path):
    """No DATABASE_URL and an empty data directory: the dry run starts no database, migrates nothing, writes no
    key or secret file, and reports what the first real run will do (duplicates among old rows included)."""
    await fill_awkward_rows(legacy_db)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    command = [sys.executable, "-m", "tenant_entrypoints.cli", "import-legacy", "--from", legacy_db, "--dry-run"]
    result = await asyncio.to_thread(
        subprocess.run, command, env=bare_env(str(data_dir)), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert list(data_dir.iterdir()) == []
    assert result.stdout.startswith("DRY RUN: nothing was written (compared with an empty service")
    assert summary(result.stdout)["tenants"]["imported"] == 5
    assert "email already belongs to another tenant" in result.stdout


async def test_dry_run_against_a_database_never_migrated_leaves_it_empty(postgres_url, legacy_db, tmp_path):
    """A DATABASE_URL with no schema yet is compared as an empty service and left without a single table."""
    await fill_awkward_rows(legacy_db)
    name = "empty_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f"CREATE DATABASE {name}")
    empty = postgres_url.replace("/postgres?", f"/{name}?", 1)
    try:
        command = [sys.executable, "-m", "tenant_entrypoints.cli", "import-legacy", "--from", legacy_db, "--dry-run"]
        env = bare_env(str(tmp_path / "data"), DATABASE_URL=empty)
        result = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "has no schema yet" in result.stdout and summary(result.stdout)["tenants"]["imported"] == 5
        conn = await asyncpg.connect(empty)
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        await conn.close()
        assert tables == 0
        assert not (tmp_path / "data").exists()
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def test_migration_marks_tenants_imported_before_records_were_kept(postgres_url, tmp_path):
    """0012 backfills a record (with nothing known of what was imported) for each tenant whose first audit event
    is its import, so a rerun after the upgrade still knows the import created it; its rollback drops the table."""
    from yoyo import get_backend, read_migrations

    from tenant_adapters.postgres import apply_migrations
    from tenant_adapters.postgres.migrations import _yoyo_uri, migrations_directory

    name = "upgrade_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f"CREATE DATABASE {name}")
    dsn = postgres_url.replace("/postgres?", f"/{name}?", 1)
    try:
        before = tmp_path / "before"
        before.mkdir()
        for path in migrations_directory().glob("*.sql"):
            if path.name < "0012":
                (before / path.name).write_text(path.read_text())
        await asyncio.to_thread(apply_migrations, dsn, before)
        conn = await asyncpg.connect(dsn)
        for tenant_id, first in (("imported-1", "tenant.imported"), ("t_00000000000000aa", "tenant.created")):
            await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, 'T')", tenant_id)
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, tenant_id) VALUES (now(), 'x', $1, $2), "
                "(now(), 'x', 'tenant.imported', $2)",
                first,
                tenant_id,
            )
        await asyncio.to_thread(apply_migrations, dsn)
        records = await conn.fetch("SELECT tenant_id, source_digest, seen FROM legacy_imports")
        assert [tuple(r) for r in records] == [("imported-1", "", None)]

        def roll_back_last() -> None:
            backend = get_backend(_yoyo_uri(dsn))
            migrations = read_migrations(str(migrations_directory()))
            with backend.lock():
                backend.rollback_migrations(backend.to_rollback(migrations.filter(lambda m: m.id.startswith("0012"))))

        await asyncio.to_thread(roll_back_last)
        assert await conn.fetchval("SELECT to_regclass('legacy_imports')") is None
        await conn.close()
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()
