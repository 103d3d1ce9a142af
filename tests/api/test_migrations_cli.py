"""Migrations as an operator runs them: `migrate` refuses to call an empty install "up to date", `rollback`
undoes the last N migrations exactly (schema and moved data), and readiness follows the schema."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tenant_adapters.postgres import apply_migrations
from tenant_adapters.postgres.migrations import (
    IrreversibleMigrationError,
    expected_migration_ids,
    migrations_directory,
    rollback_migrations,
)
from tests.api.conftest import app_for
from tests.support.servers import separate_database

ALL = sorted(expected_migration_ids())


async def fresh_database(postgres_url: str) -> str:
    return await separate_database(postgres_url, "mig_" + uuid.uuid4().hex[:12])


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenant_entrypoints.cli", *args],
        env={**os.environ, "LOG_FORMAT": "json", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def only_first(count: int, into: Path) -> Path:
    """A migrations folder holding the first ``count`` migrations (an older release)."""
    into.mkdir()
    for migration_id in ALL[:count]:
        for path in migrations_directory().glob(migration_id + ".*"):
            shutil.copy(path, into / path.name)
    return into


#: The schema as the catalog describes it: tables and columns (not their order), constraints (and whether
#: validated), indexes, functions, triggers, sequences and extensions; yoyo's own tables left out.
_SCHEMA = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' '
       || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '%yoyo%'
UNION ALL
SELECT 'constraint', c.conrelid::regclass || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) || ' '
       || c.convalidated
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
  WHERE n.nspname = 'public' AND c.conrelid::regclass::text NOT LIKE '%yoyo%'
UNION ALL
SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE '%yoyo%'
UNION ALL
SELECT 'function', pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'public' AND p.prokind = 'f'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'trigger', tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'sequence', sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'
UNION ALL
SELECT 'extension', extname FROM pg_extension WHERE extname <> 'plpgsql'
"""


#: What a rollback leaves on purpose: 0008's extension belongs to the whole database (see its rollback file).
KEPT_ON_ROLLBACK = {("extension", "pg_trgm")}


async def schema_of(url: str) -> set[tuple[str, str]]:
    connection = await asyncpg.connect(url)
    try:
        return {(kind, text) for kind, text in await connection.fetch(_SCHEMA)}
    finally:
        await connection.close()


async def test_every_migration_rolls_back_to_exactly_the_schema_before_it_and_keeps_moved_data(postgres_url, tmp_path):
    """Apply one at a time, noting each schema; with events in place before 0011 (which moves their positions
    into a side table), roll back all one at a time: each step gives back the schema noted before that
    migration, and the events keep their positions both ways; then everything applies again."""
    url = await fresh_database(postgres_url)
    before: dict[int, set[tuple[str, str]]] = {0: await schema_of(url)}
    moves = ALL.index("0011.event-positions-side-table")
    connection = await asyncpg.connect(url)
    try:
        for count in range(1, len(ALL) + 1):
            if count - 1 == moves:  # numbered and unnumbered events, as a running service leaves them
                await connection.execute(
                    "INSERT INTO events (id, type, tenant_id, occurred_at, data, position) VALUES "
                    "('e1', 'tenant.created', 't_a', now(), '{}', 1), ('e2', 'tenant.updated', 't_a', now(), '{}', 2),"
                    " ('e3', 'tenant.updated', 't_a', now(), '{}', NULL)"
                )
            apply_migrations(url, only_first(count, tmp_path / f"first-{count}"))
            before[count] = await schema_of(url)
        moved = await connection.fetch("SELECT e.id, p.position FROM events e JOIN event_positions p USING (seq)")
        assert sorted(map(tuple, moved)) == [("e1", 1), ("e2", 2)]
        assert await connection.fetchval("SELECT count(*) FROM events_unnumbered") == 1

        for count in range(len(ALL), 0, -1):
            assert rollback_migrations(url, 1) == [ALL[count - 1]]
            after = await schema_of(url)
            assert after - KEPT_ON_ROLLBACK == before[count - 1] - KEPT_ON_ROLLBACK, f"rolling back {ALL[count - 1]}"
            if count - 1 == moves:
                back = await connection.fetch("SELECT id, position FROM events ORDER BY id")
                assert list(map(tuple, back)) == [("e1", 1), ("e2", 2), ("e3", None)]
        assert apply_migrations(url) == ALL
        assert await schema_of(url) == before[len(ALL)]
    finally:
        await connection.close()


async def test_rollback_lists_without_yes_undoes_with_it_and_readiness_follows(postgres_url):
    """Without --yes the command only lists (exit 2; 0 with --dry-run); with --yes it undoes, and
    /health/ready then answers 503 naming the migration the code needs, until `migrate` applies it again."""
    url = await fresh_database(postgres_url)
    apply_migrations(url)
    listed = cli("rollback", "--steps", "2", DATABASE_URL=url)
    assert listed.returncode == 2 and ALL[-1] in listed.stdout and ALL[-2] in listed.stdout
    assert "--yes" in listed.stderr
    assert cli("rollback", "--steps", "2", "--dry-run", DATABASE_URL=url).returncode == 0
    async with AsyncTestClient(app_for(url, None)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        done = cli("rollback", "--steps", "1", "--yes", DATABASE_URL=url)
        assert done.returncode == 0, done.stderr
        behind = await client.get("/health/ready")
        assert behind.status_code == 503 and ALL[-1] in behind.text
        assert cli("migrate", DATABASE_URL=url).returncode == 0
        assert (await client.get("/health/ready")).status_code == 200


async def test_a_migration_without_rollback_file_is_refused_before_anything_is_undone(postgres_url, tmp_path):
    url = await fresh_database(postgres_url)
    folder = only_first(len(ALL), tmp_path / "release")
    (folder / f"{ALL[-2]}.rollback.sql").unlink()
    apply_migrations(url, folder)
    with pytest.raises(IrreversibleMigrationError, match=ALL[-2]):
        rollback_migrations(url, 2, folder)
    assert rollback_migrations(url, 1, folder) == [ALL[-1]]  # it was still applied: the refusal undid nothing
    with pytest.raises(IrreversibleMigrationError, match="no rollback file"):
        rollback_migrations(url, 1, folder)


async def test_an_install_without_migrations_refuses_instead_of_calling_the_schema_up_to_date(postgres_url, tmp_path):
    url = await fresh_database(postgres_url)
    (tmp_path / "empty").mkdir()
    result = cli("migrate", DATABASE_URL=url, TENANT_SERVICE_MIGRATIONS=str(tmp_path / "empty"))
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert result.returncode == 1 and len(lines) == 1 and "no migrations found" in lines[0], result.stderr
    assert "up to date" not in result.stderr
