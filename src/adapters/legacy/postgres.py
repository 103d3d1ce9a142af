"""The old service's Postgres schema read into :mod:`tenant_core.legacy` rows, in batches, oldest first.

Its columns were added over time, so rows are read with ``SELECT *``: a missing column is simply absent, and
a column this service has no field for is handed on by name (the import keeps its value). Timestamps were
``timestamp without time zone`` written by a Node service in UTC; they are read as UTC. Rows are read in a
fixed order, so the same rows read the same way on every run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from tenant_core.legacy import LegacyApiKeyRow, LegacyCredentialRow, LegacyTenant, LegacyTenantRow

_TENANT_FIELDS = set(LegacyTenantRow.__struct_fields__) - {"other_columns"}


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _json(value: Any) -> Any:
    """jsonb arrives as text from asyncpg unless a codec is set; this reader sets none (it is read-only)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _row(record: asyncpg.Record) -> dict[str, Any]:
    return {k: _utc(v) for k, v in dict(record).items()}


#: The columns of the old ``tenant_whatsapp_config`` table that hold WhatsApp credentials.
_WHATSAPP_CONFIG_COLUMNS = (
    "access_token",
    "phone_number_id",
    "waba_id",
    "business_id",
    "display_phone_number",
    "quality_rating",
)


class PostgresLegacySource:
    """The :class:`~tenant_core.legacy.LegacySource` port over the old service's database, read-only."""

    def __init__(self, connection: asyncpg.Connection, batch_size: int = 200) -> None:
        self._db = connection
        self._batch = batch_size

    @classmethod
    async def connect(cls, dsn: str, batch_size: int = 200) -> PostgresLegacySource:
        return cls(await asyncpg.connect(dsn), batch_size)

    async def close(self) -> None:
        await self._db.close()

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM tenants"))

    async def tenants(self) -> AsyncIterator[LegacyTenant]:
        # One read-only snapshot for the whole walk, fetched in batches through a server-side cursor.
        async with self._db.transaction(isolation="repeatable_read", readonly=True):
            cursor = await self._db.cursor("SELECT * FROM tenants ORDER BY created_at NULLS FIRST, tenant_id")
            while rows := await cursor.fetch(self._batch):
                ids = [r["tenant_id"] for r in rows]
                credentials = await self._credentials(ids)
                keys = await self._keys(ids)
                for record in rows:
                    row = _row(record)
                    fields = {k: v for k, v in row.items() if k in _TENANT_FIELDS}
                    fields["metadata"], fields["settings"] = (
                        _json(fields.get("metadata")),
                        _json(fields.get("settings")),
                    )
                    # Kept as JSON values: a type JSON lacks (inet, a range, …) becomes its text form.
                    other = {k: v for k, v in row.items() if k not in _TENANT_FIELDS}
                    fields["other_columns"] = msgspec.to_builtins(other, enc_hook=str)
                    yield LegacyTenant(
                        row=msgspec.convert(fields, LegacyTenantRow, strict=False),
                        credentials=credentials.get(row["tenant_id"], []),
                        api_keys=keys.get(row["tenant_id"], []),
                    )

    async def _credentials(self, ids: list[str]) -> dict[str, list[LegacyCredentialRow]]:
        found: dict[str, list[LegacyCredentialRow]] = {}
        for record in await self._db.fetch(
            "SELECT * FROM tenant_credentials WHERE tenant_id = ANY($1) ORDER BY id", ids
        ):
            row = _row(record)
            found.setdefault(row["tenant_id"], []).append(
                LegacyCredentialRow(
                    source=f"tenant_credentials#{row['id']}",
                    type=str(row.get("credential_type") or ""),
                    credentials=_json(row.get("credentials")),
                    is_active=row.get("is_active") is not False,
                    created_at=row.get("created_at"),
                    updated_at=row.get("updated_at"),
                )
            )
        if await self._db.fetchval("SELECT to_regclass('tenant_whatsapp_config') IS NOT NULL"):
            for record in await self._db.fetch(
                "SELECT * FROM tenant_whatsapp_config WHERE tenant_id = ANY($1) ORDER BY id", ids
            ):
                row = _row(record)
                # The columns under their own names: the core renames old names to today's (LEGACY_NAMES).
                config = {column: row.get(column) for column in _WHATSAPP_CONFIG_COLUMNS}
                found.setdefault(row["tenant_id"], []).append(
                    LegacyCredentialRow(
                        source=f"tenant_whatsapp_config#{row['id']}",
                        type="whatsapp",
                        credentials={k: v for k, v in config.items() if v is not None},
                        is_active=row.get("is_active") is not False,
                        created_at=row.get("created_at"),
                        updated_at=row.get("updated_at"),
                    )
                )
        return found

    async def _keys(self, ids: list[str]) -> dict[str, list[LegacyApiKeyRow]]:
        found: dict[str, list[LegacyApiKeyRow]] = {}
        for record in await self._db.fetch(
            "SELECT * FROM tenant_api_keys WHERE tenant_id = ANY($1) ORDER BY api_key", ids
        ):
            row = _row(record)
            found.setdefault(row["tenant_id"], []).append(
                LegacyApiKeyRow(
                    api_key=row["api_key"],
                    name=row.get("name"),
                    is_active=row.get("is_active"),
                    created_at=row.get("created_at"),
                    last_used=row.get("last_used"),
                )
            )
        return found
