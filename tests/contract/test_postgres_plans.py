"""Resolution and reads by id are index scans, whatever the table size (the hot path's cold case)."""

from __future__ import annotations

import json

import pytest

from adapters.postgres import PostgresStorage
from adapters.postgres.tenants import _SELECT, lookup_sql
from tests.support.builders import tenant


async def _plan(pool, sql: str, *args) -> dict:
    plan = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)  # the pool decodes json columns
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


@pytest.mark.parametrize(
    ("column", "index"),
    [
        ("phone_number_id", "tenants_phone_number_id_unique"),
        ("genesys_integration_id", "tenants_genesys_integration_id_unique"),
        ("genesys_org_id", "tenants_genesys_org_id_unique"),
    ],
)
async def test_lookups_use_their_unique_index(clean_postgres, column, index):
    storage = PostgresStorage(clean_postgres)
    async with storage.unit_of_work() as uow:
        for n in range(2000):
            await uow.tenants.add(tenant(**{column: f"v-{n}"}))
    await clean_postgres.execute("ANALYZE tenants")
    plan = await _plan(clean_postgres, lookup_sql(column), "v-42")
    assert plan["Node Type"] == "Index Scan" and plan["Index Name"] == index
    by_id = await _plan(clean_postgres, f"SELECT {_SELECT} FROM tenants WHERE id = $1", "t_0000000000000000")
    assert by_id["Node Type"] == "Index Scan" and by_id["Index Name"] == "tenants_pkey"
