"""Schema migrations with yoyo (psycopg 3 driver, used for migrations only), applied and rolled back by one
process at a time.

The fleet's lock is a Postgres *session* advisory lock held by the migrating connection. Instances that start
meanwhile wait for it (``lock_timeout`` seconds, logging who holds it), and the server releases it when the
holder's connection ends, so a migrator killed midway never blocks the next start. yoyo's own lock, a
committed row in ``yoyo_lock`` that a crash leaves behind, is not taken, and a row an older version left
there is ignored.

The migrations ship in the wheel as ``tenant_adapters/migrations`` (pyproject maps the repository's
``migrations/`` folder there); in a checkout they are read from that folder. ``TENANT_SERVICE_MIGRATIONS``
overrides both.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from loguru import logger
from yoyo import read_migrations
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.connections import parse_uri
from yoyo.migrations import Migration, MigrationList

#: The advisory lock key of migrations (beside the sequencer's 0x7E4A0E17).
MIGRATION_LOCK = 0x7E4A_0E18
#: How long a start waits for another process's migration by default (MIGRATION_LOCK_TIMEOUT_SECONDS).
DEFAULT_LOCK_TIMEOUT = 300.0
#: How often the wait says it is still waiting.
_REMIND_EVERY = 30.0
_POLL = 0.5

_SHIPPED = Path(__file__).resolve().parents[1] / "migrations"  # tenant_adapters/migrations, in the wheel
_CHECKOUT = Path(__file__).resolve().parents[3] / "migrations"  # the repository's folder (editable install)


class MigrationError(Exception):
    """The schema could not be brought where it was asked to go; the message tells the operator what to do.

    MigrationError
    ├── MigrationsNotFoundError      the installation carries no migrations
    ├── DatabaseUnreachableError     no connection (check DATABASE_URL)
    ├── MigrationLockTimeoutError    another process held the lock past the wait; names it
    ├── MigrationFailedError         a migration's SQL failed (and was undone whole)
    └── IrreversibleMigrationError   a rollback that cannot be done; nothing was undone
    """


class MigrationsNotFoundError(MigrationError):
    """No migrations where they were looked for: an empty database would otherwise pass for up to date."""


class DatabaseUnreachableError(MigrationError):
    """The database did not accept a connection."""


class MigrationLockTimeoutError(MigrationError):
    """Another process held the migration lock for longer than the wait."""


class MigrationFailedError(MigrationError):
    """A migration (or its rollback) failed in the database."""


class IrreversibleMigrationError(MigrationError):
    """A rollback was refused before anything was undone."""


def migrations_directory() -> Path:
    """``TENANT_SERVICE_MIGRATIONS``, else the migrations shipped in the package (or the checkout's folder)."""
    if override := os.environ.get("TENANT_SERVICE_MIGRATIONS"):
        return Path(override)
    return _SHIPPED if _SHIPPED.is_dir() else _CHECKOUT


def _migration_files(directory: Path) -> list[Path]:
    """The forward migrations of ``directory`` (not their rollbacks, nor yoyo's post-apply hooks, which are
    never recorded as applied); refuses loudly when there are none, since an empty list would make an empty
    database look up to date."""
    found = sorted(
        p
        for p in directory.glob("*.sql")
        if not p.name.endswith(".rollback.sql") and not p.name.startswith("post-apply")
    )
    if not found:
        where = "TENANT_SERVICE_MIGRATIONS" if os.environ.get("TENANT_SERVICE_MIGRATIONS") else "the installed package"
        raise MigrationsNotFoundError(
            f"no migrations found in {directory} (from {where}); the installation is incomplete: reinstall the "
            "package, or point TENANT_SERVICE_MIGRATIONS at the migrations folder"
        )
    return found


def expected_migration_ids(directory: Path | None = None) -> set[str]:
    """The ids of every migration this code expects applied."""
    return {p.name.removesuffix(".sql") for p in _migration_files(directory or migrations_directory())}


def _read(directory: Path | None) -> MigrationList:
    directory = directory or migrations_directory()
    _migration_files(directory)
    return read_migrations(str(directory))


@dataclass(frozen=True)
class LockHolder:
    """The session holding the migration lock, as pg_locks and pg_stat_activity show it."""

    pid: int
    application: str | None
    client: str | None
    connected_at: datetime | None

    def __str__(self) -> str:
        who = f"server pid {self.pid}"
        if self.application:
            who += f" ({self.application})"
        if self.client:
            who += f" from {self.client}"
        if self.connected_at:
            who += f", connected since {self.connected_at:%Y-%m-%d %H:%M:%S %Z}"
        return who


class _FleetBackend(PostgresqlPsycopgBackend):
    """yoyo's Postgres backend without yoyo's lock row: callers hold the advisory lock instead."""

    @contextlib.contextmanager
    def lock(self, timeout: int = 10) -> Iterator[None]:  # noqa: ARG002 - yoyo's signature
        yield

    def create_lock_table(self) -> None:
        pass  # nothing uses it; a database that has one (older versions) keeps it untouched

    def init_connection(self, connection) -> None:  # type: ignore[no-untyped-def]
        super().init_connection(connection)
        if connection.info.server_version >= 140000:
            # A statement of a migrator that died is cut short within 2 s, not run to its end: its locks would
            # hold up the next migrator meanwhile.
            connection.execute("SET client_connection_check_interval = 2000")


def _yoyo_uri(dsn: str) -> str:
    """The DSN for yoyo, naming this process in pg_stat_activity so a waiting instance can say who migrates."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    query.setdefault("application_name", f"tenant-service migrate on {socket.gethostname()} pid {os.getpid()}")
    return urlunsplit(parts._replace(scheme="postgresql+psycopg", query=urlencode(query)))


@contextlib.contextmanager
def _locked(dsn: str, lock_timeout: float) -> Iterator[_FleetBackend]:
    """A yoyo backend whose connection holds the migration lock (waiting up to ``lock_timeout`` seconds)."""
    try:
        backend = _FleetBackend(parse_uri(_yoyo_uri(dsn)), "_yoyo_migration")
    except Exception as exc:  # psycopg's errors and a malformed URL alike
        host = urlsplit(dsn).hostname or "local socket"
        raise DatabaseUnreachableError(
            f"cannot connect to the database at {host} ({_first_line(exc)}); check DATABASE_URL"
        ) from None
    try:
        _wait_for_lock(backend, lock_timeout)
        try:
            backend.init_database()
            yield backend
        finally:
            with contextlib.suppress(Exception):
                backend.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
    finally:
        with contextlib.suppress(Exception):
            backend.connection.close()  # the server releases the lock with the session anyway


def _wait_for_lock(backend: _FleetBackend, lock_timeout: float) -> None:
    started = time.monotonic()
    reminded = None
    while not backend.execute(f"SELECT pg_try_advisory_lock({MIGRATION_LOCK})").fetchone()[0]:
        waited = time.monotonic() - started
        holder = _holder(backend)
        if waited >= lock_timeout:
            raise MigrationLockTimeoutError(
                f"another process has been migrating this database for over {lock_timeout:g} s and still holds "
                f"the migration lock: {holder or 'a session that just ended'}. If it is a real migration, let it "
                "finish or raise MIGRATION_LOCK_TIMEOUT_SECONDS; a process that died releases the lock by itself"
            )
        if reminded is None or time.monotonic() - reminded >= _REMIND_EVERY:
            reminded = time.monotonic()
            logger.warning(
                "Waiting for another process's migration to finish: {}",
                holder or "its session is ending",
                waited_seconds=round(waited, 1),
                waits_up_to_seconds=lock_timeout,
            )
        time.sleep(min(_POLL, max(0.0, lock_timeout - waited)))


def _holder(backend: _FleetBackend) -> LockHolder | None:
    # A bigint advisory key shows in pg_locks as classid (high 32 bits), objid (low 32 bits), objsubid 1.
    row = backend.execute(
        "SELECT a.pid, a.application_name, host(a.client_addr), a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        f"AND l.classid = {MIGRATION_LOCK >> 32} AND l.objid = {MIGRATION_LOCK & 0xFFFF_FFFF} AND l.objsubid = 1"
    ).fetchone()
    return None if row is None else LockHolder(row[0], row[1] or None, row[2], row[3])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _run(what: str, migration: Migration, step: object) -> None:
    """Run one yoyo step, turning a database error into an operator's message naming the migration."""
    try:
        step()  # type: ignore[operator]
    except MigrationError:
        raise
    except Exception as exc:
        raise MigrationFailedError(
            f"{what} {migration.id} failed ({_first_line(exc)}); it ran in one transaction, so it was undone "
            "whole: fix the cause and run again"
        ) from None


def apply_migrations(dsn: str, directory: Path | None = None, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[str]:
    """Apply pending migrations under the fleet's migration lock; returns the ids applied."""
    migrations = _read(directory)
    with _locked(dsn, lock_timeout) as backend:
        pending = backend.to_apply(migrations)
        for migration in pending:
            _run("migration", migration, lambda m=migration: backend.apply_one(m))
        for hook in pending.post_apply if pending else ():  # yoyo's post-apply-*.sql, after any change
            _run("post-apply hook", hook, lambda m=hook: backend.apply_one(m, mark=False))
    return [m.id for m in pending]


def _rollback_file(migration: Migration) -> Path:
    return Path(migration.path).with_name(migration.id + ".rollback.sql")


def rollback_migrations(
    dsn: str,
    steps: int,
    directory: Path | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    dry_run: bool = False,
) -> list[str]:
    """Undo the last ``steps`` applied migrations, newest first, with their ``.rollback.sql`` files; returns
    their ids (with ``dry_run``, those it would undo, touching nothing). Refuses, before undoing anything,
    when one of them has no rollback file or the database holds migrations this code does not know."""
    migrations = _read(directory)
    known = {m.id for m in migrations}
    with _locked(dsn, lock_timeout) as backend:
        applied = list(backend.to_rollback(migrations))
        newer = _unknown_applied(backend, known)
        if newer:
            raise IrreversibleMigrationError(
                f"the database has migrations this version does not know ({', '.join(newer)}): roll back with "
                "the version that applied them"
            )
        chosen = applied[:steps]
        if missing := [m.id for m in chosen if not _rollback_file(m).is_file()]:
            raise IrreversibleMigrationError(
                f"{', '.join(missing)} cannot be undone (no rollback file); nothing was rolled back. Restore the "
                "backup taken before the upgrade instead"
            )
        if not dry_run:
            for migration in chosen:
                _run("rollback of", migration, lambda m=migration: backend.rollback_one(m))
    return [m.id for m in chosen]


def _unknown_applied(backend: _FleetBackend, known: set[str]) -> list[str]:
    backend.ensure_internal_schema_updated()
    rows = backend.execute("SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc DESC").fetchall()
    return [r[0] for r in rows if r[0] not in known]
