"""``tenant-service rotate-credentials-key``: every sealed kind re-sealed under the first key, reported per kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tenant_adapters.crypto import AesGcmCipher
from tests.support.cli import credentials_keys, rotation_rows, run_cli, seal_one_of_each, sealed_tenant

#: Each sealed table → its rows' key id, ciphertext and associated data.
SEALED = {
    "credentials": "SELECT key_id, ciphertext AS ct, "
    "'tenant-service/credentials/v1:' || tenant_id || ':' || type AS aad FROM credentials",
    "webhooks": "SELECT key_id, sealed_secret AS ct, 'webhook:' || id AS aad FROM webhooks",
    "idempotency_keys": "SELECT key_id, sealed_api_key AS ct, "
    "'tenant-service/idempotency/v1:' || scope || ':' || key || ':' || tenant_id AS aad FROM idempotency_keys",
}


async def test_rotation_reseals_every_kind_and_reports_each(clean_postgres, postgres_url, tmp_path):
    """Credentials, webhook signing secrets and idempotency records all move to the new key, and open with it
    alone; rerunning is a no-op."""
    key_a, key_b = os.urandom(32), os.urandom(32)
    await seal_one_of_each(clean_postgres, "a", key_a, credentials=7)
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": credentials_keys(b=key_b, a=key_a),
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
    }
    result = await run_cli("rotate-credentials-key", "--batch-size", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert "9/9" in result.stderr  # the progress bar counts every kind
    assert rotation_rows(result.stdout) == {
        "credentials": (7, 0, 0),
        "webhook signing secrets": (1, 0, 0),
        "idempotency records": (1, 0, 0),
    }
    only_b = AesGcmCipher({"b": key_b})
    for table, sql in SEALED.items():
        rows = await clean_postgres.fetch(sql)
        assert {r["key_id"] for r in rows} == {"b"}, table
        for row in rows:
            only_b.open("b", row["ct"], row["aad"].encode())

    again = await run_cli("rotate-credentials-key", env=env)
    assert again.returncode == 0 and "0/0" in again.stderr
    assert all(row == (0, 0, 0) for row in rotation_rows(again.stdout).values())


async def test_values_no_key_opens_are_logged_reported_and_exit_1(clean_postgres, postgres_url, tmp_path):
    """A value under a key that is gone is reported per kind, logged at ERROR (kind, record, key id; never the
    value), and the command exits 1; everything else is still re-sealed."""
    key_a, key_b, lost = os.urandom(32), os.urandom(32), os.urandom(32)
    await seal_one_of_each(clean_postgres, "a", key_a)
    secret = "genesys-secret-never-logged"
    doc = {"clientId": "c", "clientSecret": secret, "region": "mypurecloud.com"}
    orphan = await sealed_tenant(clean_postgres, "lost", lost, 99, "genesys", **doc)

    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CREDENTIALS_KEYS": credentials_keys(b=key_b, a=key_a),
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
    }
    result = await run_cli("rotate-credentials-key", env=env)
    assert result.returncode == 1
    rows = rotation_rows(result.stdout)
    assert rows["credentials"] == (1, 1, 1) and rows["webhook signing secrets"] == (1, 0, 0)
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    errors = [e for e in errors if e["level"] == "ERROR"]
    assert [(e["kind"], e["tenantId"], e["type"], e["keyId"]) for e in errors] == [
        ("credentials", orphan, "genesys", "lost")
    ]
    assert secret not in result.stdout + result.stderr


def test_bad_credentials_keys_stop_start_up(tmp_path):
    env = {**os.environ, "CREDENTIALS_KEYS": "a=tooshort", "TENANT_SERVICE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "tenant_entrypoints.cli", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "CREDENTIALS_KEYS" in result.stderr
