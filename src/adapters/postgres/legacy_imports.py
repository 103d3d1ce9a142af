"""The legacy import's records in Postgres (table ``legacy_imports``)."""

from __future__ import annotations

import msgspec

from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.tenants import Executor
from tenant_core.legacy import ImportRecord, Seen


class PostgresImportRecords:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, tenant_id: str) -> ImportRecord | None:
        sql = "SELECT tenant_id, source_digest, seen, recorded_at FROM legacy_imports WHERE tenant_id = $1"
        with translated():
            row = await self._db.fetchrow(sql, tenant_id)
        if row is None:
            return None
        seen = None if row["seen"] is None else msgspec.convert(row["seen"], Seen)
        return ImportRecord(row["tenant_id"], row["source_digest"], seen, row["recorded_at"])

    async def put(self, record: ImportRecord) -> None:
        sql = (
            "INSERT INTO legacy_imports (tenant_id, source_digest, seen, recorded_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (tenant_id) DO UPDATE SET source_digest = EXCLUDED.source_digest, seen = EXCLUDED.seen, "
            "recorded_at = EXCLUDED.recorded_at"
        )
        seen = None if record.seen is None else msgspec.to_builtins(record.seen)
        with translated():
            await self._db.execute(sql, record.tenant_id, record.source_digest, seen, record.recorded_at)
