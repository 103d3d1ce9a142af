"""Running ``tenant-service`` commands, and sealed rows written the way the service stores them.

The rows are written with SQL and the cipher alone, with the associated data spelled out: that is the stored
format every version of the service must keep reading (and rotating).
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from datetime import UTC, datetime

import asyncpg
import msgspec

from tenant_adapters.crypto import AesGcmCipher

WHATSAPP = {"accessToken": "EAAG-token-xxxx", "phoneNumberId": "1555", "wabaId": "w", "pin": "123456"}


async def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tenant_entrypoints.cli", *args]
    return await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)


def credentials_keys(**keys: bytes) -> str:
    """A ``CREDENTIALS_KEYS`` value: ``id=base64,…`` in the order given (the first seals)."""
    return ",".join(f"{name}={base64.b64encode(key).decode()}" for name, key in keys.items())


def rotation_rows(summary: str) -> dict[str, tuple[int, int, int]]:
    """The per-kind rows of ``rotate-credentials-key``'s summary: label → (resealed, unreadable, remaining)."""
    rows = {}
    for line in summary.splitlines():
        *label, resealed, unreadable, remaining = ["", "", "", *line.split()]
        if resealed.isdigit():
            rows[" ".join(label).strip()] = (int(resealed), int(unreadable), int(remaining))
    return rows


async def sealed_tenant(db: asyncpg.Pool, key_id: str, key: bytes, n: int, kind: str = "whatsapp", **doc: str) -> str:
    """A tenant with one credential sealed under ``key``; returns its id."""
    tenant_id = f"t_{n:016x}"
    await db.execute(
        "INSERT INTO tenants (id, name, email) VALUES ($1, $2, $3)", tenant_id, f"T{n}", f"t{n}@example{n}.com"
    )
    plaintext = msgspec.json.encode(doc or {**WHATSAPP, "phoneNumberId": f"1555{n}"})
    aad = f"tenant-service/credentials/v1:{tenant_id}:{kind}".encode()
    sealed_id, ciphertext = AesGcmCipher({key_id: key}).seal(plaintext, aad)
    await db.execute(
        "INSERT INTO credentials (tenant_id, type, key_id, ciphertext, updated_at) VALUES ($1, $2, $3, $4, now())",
        tenant_id,
        kind,
        sealed_id,
        ciphertext,
    )
    return tenant_id


async def seal_one_of_each(db: asyncpg.Pool, key_id: str, key: bytes, credentials: int = 1) -> None:
    """``credentials`` WhatsApp credentials (with their PIN), a webhook signing secret and an idempotency record
    (a sealed first API key), all under ``key``."""
    cipher = AesGcmCipher({key_id: key})
    tenants = [await sealed_tenant(db, key_id, key, n) for n in range(credentials)]
    _, secret = cipher.seal(b"whsec_" + b"s" * 32, b"webhook:wh_rotation")
    now = datetime.now(UTC)
    await db.execute(
        "INSERT INTO webhooks (id, url, event_types, status, key_id, sealed_secret, created_at, updated_at) "
        "VALUES ('wh_rotation', 'https://hooks.example/h', '{tenant.created}', 'active', $1, $2, $3, $3)",
        key_id,
        secret,
        now,
    )
    aad = f"tenant-service/idempotency/v1:admin:idem-1:{tenants[0]}".encode()
    _, api_key = cipher.seal(b"sk_" + b"0" * 64, aad)
    await db.execute(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, tenant_id, created_at, key_id, sealed_api_key) "
        "VALUES ('admin', 'idem-1', 'fp', $1, $2, $3, $4)",
        tenants[0],
        now,
        key_id,
        api_key,
    )
