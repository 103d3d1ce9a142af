"""Several instances and one migration: the others wait for it, a migrator killed midway blocks nobody, and a
wait that runs out says who holds the lock (not "check DATABASE_URL")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import psycopg

from tenant_adapters.postgres import apply_migrations
from tenant_adapters.postgres.migrations import MIGRATION_LOCK, migrations_directory
from tests.api.conftest import TEST_CREDENTIALS_KEYS
from tests.support.servers import separate_database

SLOW_SECONDS = 4


async def fresh_database(postgres_url: str) -> str:
    url = await separate_database(postgres_url, "mig_" + uuid.uuid4().hex[:12])
    apply_migrations(url)  # the schema as the release before left it
    return url


def with_slow_upgrade(into: Path) -> Path:
    """Today's migrations and one more that takes a while, as a release with a long migration would."""
    shutil.copytree(migrations_directory(), into)
    (into / "9999.slow-upgrade.sql").write_text(
        f"CREATE TABLE slow_upgrade (n int);\nSELECT pg_sleep({SLOW_SECONDS});\nINSERT INTO slow_upgrade VALUES (1);\n"
    )
    (into / "9999.slow-upgrade.rollback.sql").write_text("DROP TABLE slow_upgrade;\n")
    return into


def migrate(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenant_entrypoints.cli", "migrate"],
        env={**os.environ, "LOG_FORMAT": "json", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {what} within {timeout} s")
        await asyncio.sleep(0.05)


async def test_instances_started_during_a_long_migration_come_up_even_when_the_migrator_is_killed(
    service_factory, postgres_url, tmp_path
):
    """A starts a long migration; B and C start meanwhile and wait, naming A; A is killed (-9) midway; B and
    C both come up, and the migration was applied once, whole."""
    url = await fresh_database(postgres_url)
    env = {
        "DATABASE_URL": url,
        "CREDENTIALS_KEYS": TEST_CREDENTIALS_KEYS,
        "TENANT_SERVICE_MIGRATIONS": str(with_slow_upgrade(tmp_path / "release")),
    }
    log = tmp_path / "service.log"
    watcher = await asyncpg.connect(url)
    try:

        async def migrating() -> bool:
            sql = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(%' AND pid <> pg_backend_pid()"
            return bool(await watcher.fetchval(sql))

        a = service_factory(env)
        a_started = asyncio.create_task(a.start())
        await until(migrating, 30, "A's migration running")
        b, c = service_factory(env), service_factory(env)
        others = asyncio.gather(b.start(), c.start())

        async def both_wait() -> bool:
            return log.read_text().count("Waiting for another process's migration") >= 2

        await until(both_wait, 30, "B and C waiting")
        a.signal(signal.SIGKILL)
        a_started.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await a_started
        await others  # both ready: /health/ready answers 200, so the schema is the code's
        assert await watcher.fetchval("SELECT count(*) FROM slow_upgrade") == 1
        marked = await watcher.fetchval("SELECT count(*) FROM _yoyo_migration WHERE migration_id = '9999.slow-upgrade'")
        assert marked == 1
    finally:
        await watcher.close()
    waiting = [json.loads(line) for line in log.read_text().splitlines() if "Waiting for another" in line]
    assert f"tenant-service migrate on {socket.gethostname()} pid {a.process.pid}" in waiting[0]["msg"]


async def test_a_start_that_waits_too_long_names_the_holder_and_not_the_database_url(postgres_url):
    """Past MIGRATION_LOCK_TIMEOUT_SECONDS, migrate exits 1 with one line naming who holds the lock (its
    application name) and what to do; it logged the wait meanwhile; once the lock is free it migrates."""
    url = await fresh_database(postgres_url)
    with psycopg.connect(url, autocommit=True, application_name="nightly-reindex-job") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        result = migrate(DATABASE_URL=url, MIGRATION_LOCK_TIMEOUT_SECONDS="1")
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "nightly-reindex-job" in lines[0] and "MIGRATION_LOCK_TIMEOUT_SECONDS" in lines[0]
    assert "DATABASE_URL" not in lines[0]
    waited = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any("nightly-reindex-job" in entry["msg"] and entry["level"] == "WARNING" for entry in waited)
    assert migrate(DATABASE_URL=url, MIGRATION_LOCK_TIMEOUT_SECONDS="1").returncode == 0  # its session ended


async def test_a_lock_row_left_by_an_older_version_blocks_nobody(postgres_url):
    """Older versions locked with a committed row in yoyo_lock, which a crash left behind."""
    url = await fresh_database(postgres_url)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS yoyo_lock (locked INT DEFAULT 1, ctime TIMESTAMP, pid INT NOT NULL, "
            "PRIMARY KEY (locked))"
        )
        await connection.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 4242)")
    finally:
        await connection.close()
    started = time.monotonic()
    result = migrate(DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 8  # yoyo waited 10 s for the row before giving up
