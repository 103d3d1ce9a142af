"""API keys and the audit log in Postgres."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.tenants import Executor
from tenant_core.entities import ApiKey, AuditEvent

_KEY_SELECT = ", ".join(
    f'{"NULL::timestamptz" if f.name == "revoked_at" else f.name} AS "{f.encode_name}"'
    for f in msgspec.structs.fields(ApiKey)
)
_REVOKED_SELECT = ", ".join(
    f'{"NULL::timestamptz" if f.name == "last_used_at" else f.name} AS "{f.encode_name}"'
    for f in msgspec.structs.fields(ApiKey)
)
_AUDIT_SELECT = ", ".join(f'{f.name} AS "{f.encode_name}"' for f in msgspec.structs.fields(AuditEvent))


def _key(record) -> ApiKey | None:  # type: ignore[no-untyped-def]
    return None if record is None else msgspec.convert(dict(record), ApiKey)


class PostgresApiKeyRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add(self, key: ApiKey) -> ApiKey:
        sql = (
            "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, created_at) "
            f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_KEY_SELECT}"
        )
        with translated():
            row = await self._db.fetchrow(
                sql, key.id, key.tenant_id, key.name, key.prefix, key.key_hash, key.created_at
            )
        return _key(row)  # type: ignore[return-value]

    async def list_for_tenant(self, tenant_id: str) -> list[ApiKey]:
        sql = f"SELECT {_KEY_SELECT} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"
        with translated():
            return [_key(r) for r in await self._db.fetch(sql, tenant_id)]  # type: ignore[misc]

    async def find_by_hash(self, key_hash: str, *, include_revoked: bool = False) -> ApiKey | None:
        sql = f"SELECT {_KEY_SELECT} FROM api_keys WHERE key_hash = $1"
        if include_revoked:  # one round trip: the live key if there is one, else its revocation record
            revoked = f"SELECT {_REVOKED_SELECT} FROM revoked_api_keys WHERE key_hash = $1"
            sql = f'({sql}) UNION ALL ({revoked}) ORDER BY "revokedAt" NULLS FIRST LIMIT 1'
        with translated():
            return _key(await self._db.fetchrow(sql, key_hash))

    async def remove(self, tenant_id: str, key_id: str) -> ApiKey | None:
        sql = (
            "WITH gone AS (DELETE FROM api_keys WHERE id = $1 AND tenant_id = $2 RETURNING *), "
            "kept AS (INSERT INTO revoked_api_keys (key_hash, id, tenant_id, name, prefix, created_at) "
            "SELECT key_hash, id, tenant_id, name, prefix, created_at FROM gone ON CONFLICT (key_hash) DO UPDATE "
            "SET id = EXCLUDED.id, tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name, prefix = EXCLUDED.prefix, "
            "created_at = EXCLUDED.created_at, revoked_at = now()) "
            f"SELECT {_KEY_SELECT} FROM gone"
        )
        with translated():
            return _key(await self._db.fetchrow(sql, key_id, tenant_id))

    async def touch(self, key_id: str, at: datetime) -> None:
        with translated():
            await self._db.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", key_id, at)


class PostgresAuditLog:
    def __init__(self, db: Executor, deferred: list[AuditEvent] | None = None) -> None:
        """With ``deferred`` (inside a unit of work), rows are collected there and written at commit."""
        self._db = db
        self._deferred = deferred

    async def record(self, event: AuditEvent) -> None:
        if self._deferred is not None:
            self._deferred.append(event)
            return
        sql = (
            "INSERT INTO audit_log (at, actor, action, tenant_id, changes, request_id) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        with translated():
            await self._db.execute(
                sql, event.at, event.actor, event.action, event.tenant_id, event.changes, event.request_id
            )

    async def list_for_tenant(
        self, tenant_id: str, limit: int, offset: int, before: int | None = None
    ) -> tuple[list[AuditEvent], int]:
        # (tenant_id, id DESC) is the audit_log_tenant_idx order: a cursor page starts at its row.
        sql = (
            f"SELECT {_AUDIT_SELECT} FROM audit_log WHERE tenant_id = $1 AND ($4::bigint IS NULL OR id < $4) "
            "ORDER BY id DESC LIMIT $2 OFFSET $3"
        )
        with translated():
            rows = await self._db.fetch(sql, tenant_id, limit, offset, before)
            total = await self._db.fetchval("SELECT count(*) FROM audit_log WHERE tenant_id = $1", tenant_id)
        return [msgspec.convert(dict(r), AuditEvent) for r in rows], total
