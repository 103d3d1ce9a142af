"""Resolution and reads by id are index scans, whatever the table size (the hot path's cold case)."""

from __future__ import annotations

import json

import pytest

from tenant_adapters.postgres import PostgresStorage
from tenant_adapters.postgres.tenants import _SELECT, list_sql, lookup_sql
from tenant_core import TenantQuery
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


async def _seed(pool, count: int) -> None:
    """``count`` tenants in one statement: enough rows that the planner prefers an index where one helps."""
    await pool.execute(
        "INSERT INTO tenants (id, name, email, created_at) SELECT 't_' || lpad(to_hex(n), 16, '0'), "
        "'Tenant ' || lpad(n::text, 6, '0'), 'ops' || n || '@example' || (n % 50) || '.com', "
        "now() - n * interval '1 second' FROM generate_series(1, $1) AS n",
        count,
        timeout=120,  # 50,000 rows through the trigram index: seconds on a busy machine, past the pool's 5 s
    )
    await pool.execute("ANALYZE tenants", timeout=120)


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


async def test_q_search_reads_the_trigram_index(clean_postgres):
    """A selective substring search is a bitmap scan of the pg_trgm GIN index, not a scan of every row."""
    await _seed(clean_postgres, 50_000)
    page_sql, count_sql, args = list_sql(TenantQuery(limit=50, q="tenant 004217"))
    for sql, sql_args in ((page_sql, args), (count_sql, args[:1])):
        used = {node.get("Index Name") for node in _nodes(await _plan(clean_postgres, sql, *sql_args))}
        assert "tenants_search_trgm" in used, sql


async def test_a_cursor_page_starts_at_its_row_through_the_index(clean_postgres):
    """Page 1,000 by cursor is an index range scan like page 1: deep pages cost the same."""
    await _seed(clean_postgres, 3000)
    row = await clean_postgres.fetchrow(
        "SELECT created_at, id FROM tenants ORDER BY created_at DESC, id DESC OFFSET 2000"
    )
    page_sql, _, args = list_sql(TenantQuery(limit=50, after=(row["created_at"], row["id"])))
    plan = await _plan(clean_postgres, page_sql, *args)
    scans = [node for node in _nodes(plan) if node["Node Type"].startswith("Index")]
    assert scans and scans[0]["Index Name"] == "tenants_newest_idx"
    assert "Index Cond" in scans[0]  # it starts at the cursor, not at the first row
