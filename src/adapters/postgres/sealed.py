"""Every sealed value in Postgres, by kind: where each kind of :data:`~tenant_core.sealed_kinds.SEALED_KINDS`
lives (its table, the columns of its ``ref``, its key id and ciphertext columns), and the generic SQL that
key rotation and the start-up key check run on any of them.

Each table has an index on its key id column (migrations 0003 and 0013), so :meth:`one_per_key` is an index
walk whatever the table holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.tenants import Executor
from tenant_core.sealed_kinds import SealedKind, SealedValue


@dataclass(frozen=True)
class SealedColumns:
    """Where one kind is stored. ``ref`` columns are in the order of the kind's ``ref_fields``."""

    table: str
    ref: tuple[str, ...]
    ciphertext: str
    key_id: str = "key_id"


#: One row per sealed kind (by name); the architecture tests check that it covers every kind and every
#: sealed column of the schema.
SEALED_COLUMNS: dict[str, SealedColumns] = {
    "credentials": SealedColumns("credentials", ("tenant_id", "type"), "ciphertext"),
    "webhook_secrets": SealedColumns("webhooks", ("id",), "sealed_secret"),
    "idempotency_api_keys": SealedColumns("idempotency_keys", ("scope", "key", "tenant_id"), "sealed_api_key"),
}


def _where(kind: SealedKind) -> SealedColumns:
    return SEALED_COLUMNS[kind.name]  # a KeyError here is a kind this adapter does not know: loud on purpose


def _select(kind: SealedKind) -> tuple[SealedColumns, str]:
    at = _where(kind)
    refs = ", ".join(f"{c}::text" for c in at.ref)
    return at, f"SELECT {refs}, {at.key_id}, {at.ciphertext} FROM {at.table}"


def _value(kind: SealedKind, row: tuple[object, ...]) -> SealedValue:
    *ref, key_id, ciphertext = row
    return SealedValue(kind.name, tuple(map(str, ref)), str(key_id), bytes(ciphertext))  # type: ignore[arg-type]


def one_per_key_sql(kind: SealedKind) -> str:
    """A loose index scan: the first value in key id order, then repeatedly the first value with a larger key
    id. Each step is one probe of the key id index, so the cost is the number of key ids, not of rows."""
    at, select = _select(kind)
    first = f"{select} WHERE {at.ciphertext} IS NOT NULL AND {at.key_id} {{}} ORDER BY {at.key_id} LIMIT 1"
    return (
        f"WITH RECURSIVE walk AS (({first.format('IS NOT NULL')}) "
        f"UNION ALL SELECT next.* FROM walk CROSS JOIN LATERAL ({first.format('> walk.' + at.key_id)}) next) "
        "SELECT * FROM walk"
    )


class PostgresSealedValues:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def sealed_with_other_keys(
        self, kind: SealedKind, key_id: str, after: tuple[str, ...] | None, limit: int
    ) -> list[SealedValue]:
        at, select = _select(kind)
        refs = ", ".join(at.ref)
        args: list[object] = [key_id, limit]
        later = ""
        if after is not None:
            args += list(after)
            later = f"AND ({refs}) > ({', '.join(f'${n}' for n in range(3, 3 + len(after)))}) "
        sql = (
            f"{select} WHERE {at.ciphertext} IS NOT NULL AND {at.key_id} IS DISTINCT FROM $1 {later}"
            f"ORDER BY {refs} LIMIT $2"
        )
        with translated():
            return [_value(kind, tuple(r)) for r in await self._db.fetch(sql, *args)]

    async def count_sealed_with_other_keys(self, kind: SealedKind, key_id: str) -> int:
        at = _where(kind)
        sql = f"SELECT count(*) FROM {at.table} WHERE {at.ciphertext} IS NOT NULL AND {at.key_id} IS DISTINCT FROM $1"
        with translated():
            return int(await self._db.fetchval(sql, key_id))

    async def reseal(self, old: SealedValue, key_id: str, ciphertext: bytes) -> bool:
        at = SEALED_COLUMNS[old.kind]
        match = " AND ".join(f"{c} = ${n}" for n, c in enumerate(at.ref, start=4))
        sql = f"UPDATE {at.table} SET {at.key_id} = $1, {at.ciphertext} = $2 WHERE {at.ciphertext} = $3 AND {match}"
        with translated():
            status = await self._db.execute(sql, key_id, ciphertext, old.ciphertext, *old.ref)
        return status != "UPDATE 0"

    async def one_per_key(self, kind: SealedKind) -> list[SealedValue]:
        with translated():
            return [_value(kind, tuple(r)) for r in await self._db.fetch(one_per_key_sql(kind))]
