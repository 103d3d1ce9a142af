"""Sealed credentials in Postgres: ciphertext only, never a secret in clear."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import asyncpg
import msgspec

from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.tenants import Executor
from tenant_core.connections import ConnectionStatus
from tenant_core.credential_types import SealedCredentials

_COLUMNS = "tenant_id, type, key_id, ciphertext, updated_at, status"

#: When a credential was last checked (NULL: never), from its status.
_LAST_CHECKED = "(c.status->'lastCheck'->>'checkedAt')::timestamptz"
_DUE = (
    f"SELECT c.tenant_id, c.type FROM credentials c JOIN tenants t ON t.id = c.tenant_id "
    f"WHERE t.status <> 'deleted' AND c.type = ANY($2::text[]) "
    f"AND ({_LAST_CHECKED} IS NULL OR {_LAST_CHECKED} <= $1) "
    f'ORDER BY {_LAST_CHECKED} NULLS FIRST, c.tenant_id COLLATE "C", c.type COLLATE "C" LIMIT $3'
)


def _sealed(record: asyncpg.Record) -> SealedCredentials:
    status = record["status"]
    return SealedCredentials(
        tenant_id=record["tenant_id"],
        type=record["type"],
        key_id=record["key_id"],
        ciphertext=bytes(record["ciphertext"]),
        updated_at=record["updated_at"],
        status=None if status is None else msgspec.convert(status, ConnectionStatus),
    )


def _encoded(status: ConnectionStatus | None) -> dict[str, object] | None:
    """A JSON object for the jsonb column (the pool's codec encodes it)."""
    return None if status is None else msgspec.to_builtins(status)


class PostgresCredentialStore:
    def __init__(self, db: Executor, lock_reads: bool = False) -> None:
        """``lock_reads``: inside a transaction, a credential read is locked until the transaction ends (``FOR
        UPDATE``), so what a unit of work decides from it still holds at its commit."""
        self._db = db
        self._lock = " FOR UPDATE" if lock_reads else ""

    async def put(self, sealed: SealedCredentials) -> None:
        sql = (
            f"INSERT INTO credentials ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb) "
            "ON CONFLICT (tenant_id, type) DO UPDATE SET key_id = EXCLUDED.key_id, "
            "ciphertext = EXCLUDED.ciphertext, updated_at = EXCLUDED.updated_at, status = EXCLUDED.status"
        )
        args = (sealed.tenant_id, str(sealed.type), sealed.key_id, sealed.ciphertext, sealed.updated_at)
        with translated():
            await self._db.execute(sql, *args, _encoded(sealed.status))

    async def get(self, tenant_id: str, kind: str) -> SealedCredentials | None:
        sql = f"SELECT {_COLUMNS} FROM credentials WHERE tenant_id = $1 AND type = $2{self._lock}"
        with translated():
            row = await self._db.fetchrow(sql, tenant_id, str(kind))
        return None if row is None else _sealed(row)

    async def remove(self, tenant_id: str, kind: str) -> bool:
        with translated():
            status = await self._db.execute(
                "DELETE FROM credentials WHERE tenant_id = $1 AND type = $2", tenant_id, str(kind)
            )
        return status != "DELETE 0"

    async def record_status(self, tenant_id: str, kind: str, updated_at: datetime, status: ConnectionStatus) -> bool:
        sql = "UPDATE credentials SET status = $4::jsonb WHERE tenant_id = $1 AND type = $2 AND updated_at = $3"
        with translated():
            result = await self._db.execute(sql, tenant_id, str(kind), updated_at, _encoded(status))
        return result != "UPDATE 0"

    async def due_for_check(self, checked_by: datetime, kinds: Collection[str], limit: int) -> list[tuple[str, str]]:
        with translated():
            rows = await self._db.fetch(_DUE, checked_by, [str(kind) for kind in kinds], limit)
        return [(row["tenant_id"], row["type"]) for row in rows]
