"""Tenants and idempotency keys in Postgres. Every uniqueness race is settled by a unique index."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from tenant_adapters.postgres.errors import translated
from tenant_core.entities import (
    GENESYS_ORG,
    IDEMPOTENCY_WINDOW,
    ROUTING_KEYS,
    IdempotencyRecord,
    Provisioned,
    RoutingKey,
    Tenant,
    TenantQuery,
)
from tenant_core.errors import ConflictError

# Column i is Tenant field i; the SELECT list aliases each column to its wire name so that a row converts
# straight into a Tenant with msgspec, with no hand-written mapper.
_FIELDS = msgspec.structs.fields(Tenant)
_COLUMNS = [f.name for f in _FIELDS]
_SELECT = ", ".join(f'{f.name} AS "{f.encode_name}"' for f in _FIELDS)
_INSERT_COLUMNS = ", ".join(_COLUMNS)
_INSERT_VALUES = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
_UPDATE_COLUMNS = [c for c in _COLUMNS if c not in ("id", "created_at")]
_UPDATE_SET = ", ".join(f"{c} = ${i}" for i, c in enumerate(_UPDATE_COLUMNS, 2))
_LIVE = "status <> 'deleted'"

_IDEMPOTENCY_COLUMNS = ", ".join(f.name for f in msgspec.structs.fields(IdempotencyRecord))
_IDEMPOTENCY_SELECT = ", ".join(f'{f.name} AS "{f.encode_name}"' for f in msgspec.structs.fields(IdempotencyRecord))

Executor = asyncpg.Pool | asyncpg.Connection


def lookup_sql(column: str) -> str:
    """Resolution by a lookup column: the partial unique index's expression and predicate, so one index scan."""
    return f"SELECT {_SELECT} FROM tenants WHERE lower({column}) = lower($1) AND {_LIVE}"


_LOOKUP_SQL = {key: lookup_sql(key.field) for key in ROUTING_KEYS}


def _to_tenant(record: asyncpg.Record | None) -> Tenant | None:
    return None if record is None else msgspec.convert(dict(record), Tenant)


def _params(tenant: Tenant, columns: list[str] = _COLUMNS) -> list[Any]:
    # Enums go in as their text; Settings and metadata go through the msgspec JSON codec of the pool.
    return [v.value if isinstance(v, enum.Enum) else v for v in (getattr(tenant, c) for c in columns)]


class PostgresTenantRepository:
    """:class:`~tenant_core.ports.TenantRepository` on a pool (autocommit reads) or a transaction's connection."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, tenant_id: str) -> Tenant | None:
        with translated():
            return _to_tenant(await self._db.fetchrow(f"SELECT {_SELECT} FROM tenants WHERE id = $1", tenant_id))

    async def get_by(self, key: RoutingKey, value: str) -> Tenant | None:
        sql = _LOOKUP_SQL[key]  # only the routing keys' columns: a made-up key is a KeyError, never SQL
        with translated():
            return _to_tenant(await self._db.fetchrow(sql, value))

    async def list(self, query: TenantQuery) -> tuple[list[Tenant], int]:
        page_sql, count_sql, args = list_sql(query)
        with translated():
            rows = await self._db.fetch(page_sql, *args)
            if rows and len(rows) < query.limit and query.after is None:
                total = query.offset + len(rows)  # the last page tells the total exactly; no count needed
            else:
                total = await self._db.fetchval(count_sql, *args[: _filter_args(query)])
        return [msgspec.convert(dict(r), Tenant) for r in rows], total

    async def add(self, tenant: Tenant) -> Tenant:
        sql = f"INSERT INTO tenants ({_INSERT_COLUMNS}) VALUES ({_INSERT_VALUES}) RETURNING {_SELECT}"
        with translated():
            return _to_tenant(await self._db.fetchrow(sql, *_params(tenant)))  # type: ignore[return-value]

    async def replace(self, tenant: Tenant, expected_version: int) -> Tenant | None:
        sql = (
            f"UPDATE tenants SET {_UPDATE_SET} WHERE id = $1 AND version = ${len(_UPDATE_COLUMNS) + 2} "
            f"RETURNING {_SELECT}"
        )
        with translated():
            row = await self._db.fetchrow(sql, tenant.id, *_params(tenant, _UPDATE_COLUMNS), expected_version)
        return _to_tenant(row)

    async def remove(self, tenant_id: str) -> Tenant | None:
        with translated():
            row = await self._db.fetchrow(f"DELETE FROM tenants WHERE id = $1 RETURNING {_SELECT}", tenant_id)
        return _to_tenant(row)

    async def add_or_get_by_genesys_org(self, tenant: Tenant) -> Provisioned:
        # ON CONFLICT waits for a concurrent inserter and then does nothing; the SELECT (a new snapshot
        # under READ COMMITTED) then sees the winner's row. Exactly one tenant per org, no check-then-insert.
        insert = (
            f"INSERT INTO tenants ({_INSERT_COLUMNS}) VALUES ({_INSERT_VALUES}) "
            f"ON CONFLICT (lower(genesys_org_id)) WHERE {_LIVE} DO NOTHING RETURNING {_SELECT}"
        )
        with translated():
            created = _to_tenant(await self._db.fetchrow(insert, *_params(tenant)))
        if created is not None:
            return Provisioned(tenant=created, is_new=True)
        existing = await self.get_by(GENESYS_ORG, tenant.genesys_org_id or "")
        if existing is None:  # the winner was deleted in between; let the caller retry
            raise ConflictError("The Genesys organisation changed during provisioning; retry", "genesysOrgId")
        return Provisioned(tenant=existing, is_new=False)


class PostgresIdempotencyKeys:
    """The :class:`~tenant_core.ports.IdempotencyKeys` port in Postgres: a live key belongs to its first user
    for :data:`~tenant_core.entities.IDEMPOTENCY_WINDOW`."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def recall(self, scope: str, key: str, since: datetime) -> IdempotencyRecord | None:
        sql = f"SELECT {_IDEMPOTENCY_SELECT} FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at >= $3"
        with translated():
            row = await self._db.fetchrow(sql, scope, key, since)
        return None if row is None else msgspec.convert(dict(row), IdempotencyRecord)

    async def remember(self, record: IdempotencyRecord) -> None:
        # An expired key may be reused; a live one belongs to whoever stored it first.
        sql = (
            f"INSERT INTO idempotency_keys ({_IDEMPOTENCY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
            "tenant_id = EXCLUDED.tenant_id, created_at = EXCLUDED.created_at, key_id = EXCLUDED.key_id, "
            "sealed_api_key = EXCLUDED.sealed_api_key "
            "WHERE idempotency_keys.created_at < EXCLUDED.created_at - $8::interval RETURNING 1"
        )
        with translated():
            stored = await self._db.fetchval(sql, *msgspec.structs.astuple(record), IDEMPOTENCY_WINDOW)
        if stored is None:
            raise ConflictError("The idempotency key is being used by another request", "idempotency_key")


def _filter_args(query: TenantQuery) -> int:
    return int(query.status is not None) + int(bool(query.q))


def list_sql(query: TenantQuery) -> tuple[str, str, list[Any]]:
    """``(page SQL, count SQL, arguments)`` of a listing; the count takes the filter arguments only.

    Newest first on (created_at, id), the ``tenants_newest_idx`` order; a cursor continues strictly after
    its row (a row comparison the index serves), so deep pages cost what the first one does.
    """
    where, args = ["status = $1" if query.status else _LIVE], [query.status.value] if query.status else []
    if query.q:
        args.append("%" + _escape_like(query.q.lower()) + "%")
        where.append(f"search LIKE ${len(args)}")  # see migrations 0006 and 0008 (trigram index)
    condition = " AND ".join(where)
    count_sql = f"SELECT count(*) FROM tenants WHERE {condition}"
    if query.after is not None:
        args += list(query.after)
        where.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    args += [query.limit, query.offset]
    page_sql = (
        f"SELECT {_SELECT} FROM tenants WHERE {' AND '.join(where)} "
        f"ORDER BY created_at DESC, id DESC LIMIT ${len(args) - 1} OFFSET ${len(args)}"
    )
    return page_sql, count_sql, args


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
