"""``tenant-service``: run the service and operate it.

tenant-service serve [--host 127.0.0.1] [--port 3007] [--workers N]
tenant-service migrate
tenant-service rollback --steps N [--dry-run | --yes]
tenant-service token --role admin|service|tenant [--tenant ID] [--ttl SECONDS]
tenant-service rotate-credentials-key [--batch-size 100]
tenant-service import-legacy --from postgresql://… [--dry-run]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from loguru import logger

from tenant_core.security import Principal, Role
from tenant_entrypoints.config import Config, ConfigError, check_database_url
from tenant_entrypoints.log import configure_logging
from tenant_entrypoints.serve_worker import MASTER_PID


def _database_url(config: Config) -> tuple[str, Any]:
    """The configured database, or the embedded one started in the data directory."""
    if config.database_url:
        return config.database_url, None
    from tenant_adapters.postgres.embedded import (
        EmbeddedPostgresMissingError,
        IncompatibleDataDirectoryError,
        start_embedded_postgres,
    )

    try:
        dsn, handle = start_embedded_postgres(config.data_dir)
    except (EmbeddedPostgresMissingError, IncompatibleDataDirectoryError) as exc:
        raise StartupError(str(exc)) from None
    logger.info("Embedded Postgres running", data_dir=str(config.data_dir / "postgres"))
    return dsn, handle


def _check_can_listen(host: str, port: int) -> None:
    """Fail at once, in one line, when the address is taken or not ours (before starting anything)."""
    try:
        with socket.create_server((host, port), reuse_port=False):
            pass
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port") from None


def _prepare_metrics_dir(directory: Path) -> None:
    """Workers share metrics through files here (prometheus multiprocess mode); stale ones are removed.

    This runs before any worker imports prometheus_client, which reads the variable once, at import.
    """
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


class StartupError(Exception):
    """Something the operator must fix before the service can start; the message says what."""


def _migrate(dsn: str, lock_timeout: float) -> None:
    from tenant_adapters.postgres.migrations import MigrationError, apply_migrations

    try:
        applied = apply_migrations(dsn, lock_timeout=lock_timeout)
    except MigrationError as exc:  # unreachable database, another migration past the wait, a failed migration
        raise StartupError(str(exc)) from None
    logger.info("Migrations applied" if applied else "Schema is up to date", applied=applied)


def _rollback(dsn: str, steps: int, confirmed: bool, dry_run: bool, lock_timeout: float) -> int:
    """Undo the last ``steps`` migrations (``--yes``), or list them (``--dry-run``, or neither: then refuse)."""
    from tenant_adapters.postgres.migrations import MigrationError, rollback_migrations

    try:
        planned = rollback_migrations(dsn, steps, lock_timeout=lock_timeout, dry_run=not confirmed)
    except MigrationError as exc:
        raise StartupError(f"cannot roll back: {exc}") from None
    if not planned:
        print("Nothing to roll back: no migration is applied")
        return 0
    if not confirmed:
        print("\n".join(["Would roll back, in this order:", *(f"  {m}" for m in planned)]))
        if dry_run:
            return 0
        print(
            "tenant-service: nothing was rolled back; rerun with --yes to roll back (it drops what these "
            "migrations added, data included)",
            file=sys.stderr,
        )
        return 2
    logger.info("Migrations rolled back", rolled_back=planned)
    return 0


def warn_of_generated_secrets(config: Config) -> None:
    """On a database of its own (``DATABASE_URL``), an instance using secrets generated into its data directory
    is a trap: another instance generates others, cannot verify this one's tokens, and refuses to start once
    this one has sealed anything. One WARNING line says which settings to set."""
    if not config.database_url:
        return  # the embedded database lives in the same data directory as the secrets: they go together
    generated = [
        name
        for name, given in (
            ("JWT_SECRET", config.jwt_secret or config.jwt_secrets),
            ("CREDENTIALS_KEYS", config.credentials_keys),
        )
        if not given
    ]
    if generated:
        logger.warning(
            "{} not set: using what was generated into {}; every instance on this database needs the same "
            "values, and a new data directory would lose them, so set them explicitly",
            " and ".join(generated),
            config.data_dir,
        )


def serve(config: Config, host: str, port: int, workers: int) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    _check_can_listen(host, port)
    dsn, _embedded = _database_url(config)
    _migrate(dsn, config.migration_lock_timeout)
    asyncio.run(_refuse_unopenable_values(config, dsn))
    os.environ["DATABASE_URL"] = dsn  # workers build their app from the environment
    os.environ["TENANT_SERVICE_WORKERS"] = str(workers)
    os.environ[MASTER_PID] = str(os.getpid())  # each worker stops when this process dies, even by kill -9
    if workers > 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Several workers add their metrics up through files; one keeps them in memory, which costs each
        # request less (multiprocess values check the pid and write to a mapped file on every update).
        _prepare_metrics_dir(config.data_dir / "metrics")
    config.signing_secret()  # create the shared secret once, before workers race for it
    warn_of_generated_secrets(config)
    if not config.redis_url:
        share = workers * config.instances
        logger.warning(
            "No REDIS_URL: each process counts rate limits on its own and admits 1/{} of a tenant's limit "
            "({} worker(s) x TENANT_SERVICE_INSTANCES={}); set REDIS_URL to count them once for the fleet",
            share,
            workers,
            config.instances,
        )
    logger.info("Tenant Service listening", url=f"http://{host}:{port}", workers=workers)
    if config.auth_disabled:
        logger.warning("AUTH_DISABLED=true: authentication is OFF")
    else:
        logger.info("Get an admin token with: tenant-service token --role admin")
    Granian(
        "tenant_entrypoints.serve_worker:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_access=False,
        # HTTP/1.1 only: in "auto" mode granian waits indefinitely for a silent client to show its protocol.
        # The header read timeout then closes connections that send nothing, idle keep-alives included.
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=int(config.http_idle_timeout * 1000)),
        backpressure=connections_per_worker(config.http_max_connections),
    ).serve()


#: Open files a worker needs besides its HTTP connections: database pool, Redis, logs, metrics files, the bus.
_OTHER_FILES = 256


def connections_per_worker(wanted: int) -> int:
    """How many connections each worker may hold open (granian's backpressure): ``wanted``, with the open-file
    limit raised to allow it, or as many as the hard limit allows, said loudly."""
    import resource

    needed = wanted + _OTHER_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))  # workers inherit it
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    allowed = max(64, soft - _OTHER_FILES)
    logger.warning(
        "HTTP_MAX_CONNECTIONS={} needs {} open files per worker but the hard limit is {}: each worker holds at "
        "most {} connections; raise the limit (ulimit -n, LimitNOFILE=, docker --ulimit nofile=)",
        wanted,
        needed,
        hard,
        allowed,
    )
    return allowed


def _print_token(config: Config, role: Role, tenant: str | None, subject: str | None, ttl: int) -> int:
    from tenant_adapters.jwt import JwtTokens

    if (role is Role.TENANT) != (tenant is not None):
        print("tenant-service: --tenant is required with --role tenant, and only with it", file=sys.stderr)
        return 2
    if not 1 <= ttl <= config.jwt_max_ttl_seconds:
        print(
            f"tenant-service: --ttl must be 1 to {config.jwt_max_ttl_seconds} seconds (JWT_MAX_TTL_SECONDS)",
            file=sys.stderr,
        )
        return 2
    # A unique subject per token unless one is given: subjects scope idempotency keys and name the actor.
    principal = Principal(subject=subject or f"cli-{role.value}-{secrets.token_hex(4)}", role=role, tenant_id=tenant)
    tokens = JwtTokens(config.jwt_keys(), issuer=config.jwt_issuer, audience=config.jwt_audience)
    print(tokens.issue(principal, ttl))
    return 0


def _container(config: Config, dsn: str):  # type: ignore[no-untyped-def]
    from tenant_entrypoints.container import build_container

    return build_container(msgspec.structs.replace(config, database_url=dsn))


async def _open_legacy_source(source_dsn: str):  # type: ignore[no-untyped-def]
    from tenant_adapters.legacy import PostgresLegacySource

    try:
        check_database_url(source_dsn, "--from")
    except ConfigError as exc:
        raise StartupError(str(exc)) from None
    try:
        return await PostgresLegacySource.connect(source_dsn)
    except Exception as exc:  # OSError, a malformed URL, asyncpg's errors: all mean "check --from"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"cannot read the old database ({reason}); check --from") from None


async def _import_legacy(config: Config, dsn: str, source_dsn: str) -> int:
    """Each tenant is one transaction with a record of what was imported: a rerun applies what changed in the
    old database since, never undoes what changed here, and finishes an interrupted import."""
    await _refuse_unopenable_values(config, dsn)
    source = await _open_legacy_source(source_dsn)
    container = _container(config, dsn)
    await container.init_resources()
    try:
        importer = await container.legacy_import()
        with ProgressBar(await source.count(), label="importing tenants") as bar:
            report = await importer.run(source, on_progress=bar.update)
    finally:
        await source.close()
        await container.shutdown_resources()
    print(import_summary(report))
    return 0


async def _dry_run_import(config: Config, source_dsn: str) -> int:
    """Report what a real run would do, and write nothing anywhere: no database started or created, no
    migration, no file, no cache touched.

    Against a database that has this service's schema, each tenant is compared in a transaction that is
    rolled back. With no database yet (no ``DATABASE_URL`` and no embedded database in the data directory,
    or a database never migrated), the import runs into a scratch store in memory: exactly what the first
    real run will do, duplicates among the old rows included.
    """
    from tenant_adapters.memory import InMemoryCache, InMemoryStorage
    from tenant_core.clock import SystemClock
    from tenant_core.lookup_cache import TenantCache
    from tenant_core.sealing import SealedValues
    from tenant_core.use_cases.legacy_import import LegacyImport

    source = await _open_legacy_source(source_dsn)
    storage, pool, against = None, None, "an empty service (no database yet)"
    try:
        dsn, _embedded = _existing_database(config)  # the handle keeps an embedded server up until we are done
        if dsn is not None:
            where = None if config.database_url else f"the embedded database in {config.data_dir}"
            storage, pool, against = await _migrated_storage(dsn, where)
        target = InMemoryStorage() if storage is None else storage
        sealed = SealedValues(_dry_run_cipher(config))
        importer = LegacyImport(target, sealed, TenantCache(InMemoryCache()), SystemClock())
        with ProgressBar(await source.count(), label="importing tenants (dry run)") as bar:
            # Into the scratch store the writes are real (and vanish with the process); into a database, rolled back.
            report = await importer.run(source, dry_run=storage is not None, on_progress=bar.update)
    finally:
        await source.close()
        if pool is not None:
            await pool.close()
    print(import_summary(report, dry_run_against=against))
    return 0


def _existing_database(config: Config) -> tuple[str | None, Any]:
    """``DATABASE_URL``, or the embedded database if the data directory already holds one (started as
    ``serve`` starts it, reusing a running one), with its handle; ``(None, None)`` rather than create one."""
    if config.database_url:
        return config.database_url, None
    if not (config.data_dir / "postgres" / "PG_VERSION").exists():
        return None, None
    return _database_url(config)


async def _migrated_storage(dsn: str, where: str | None):  # type: ignore[no-untyped-def]
    """``(storage, pool, description)`` of a database at this version's schema; ``(None, None, …)`` for one
    never migrated (compared as empty). A schema part-way refuses: a dry run never migrates."""
    from tenant_adapters.postgres import PostgresStorage, create_pool, expected_migration_ids

    host = urlsplit(dsn).hostname or "local socket"
    where = where or f"the database at {host}"
    try:
        pool = await create_pool(dsn, max_size=2)
    except Exception as exc:  # OSError, asyncpg's errors: all mean the same to the operator
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"cannot reach the database at {host} ({reason}); check DATABASE_URL") from None
    storage = PostgresStorage(pool)
    missing = await storage.missing_migrations()
    if missing == expected_migration_ids():
        await pool.close()
        return None, None, f"an empty service ({where} has no schema yet)"
    if missing:
        await pool.close()
        raise StartupError(
            f"{where} lacks {len(missing)} migration(s) of this version; run "
            "`tenant-service migrate` first (a dry run never changes the schema)"
        )
    return storage, pool, where


def _dry_run_cipher(config: Config):  # type: ignore[no-untyped-def]
    """The configured keys, or the data directory's key if it exists; never a new key file. Without any, a
    throwaway key: nothing sealed can exist then that the comparison would need to open."""
    from tenant_adapters.crypto import AesGcmCipher, parse_keys

    local = config.data_dir / "credentials-key"
    if config.credentials_keys:
        return AesGcmCipher(parse_keys(config.credentials_keys))
    if local.exists():
        return AesGcmCipher(parse_keys(f"local={local.read_text().strip()}"))
    return AesGcmCipher({"dry-run": secrets.token_bytes(32)})


def import_summary(report, dry_run_against: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """The counts per kind of thing and outcome, then every line that has a reason."""
    from tenant_core.use_cases.legacy_import import ItemKind, Outcome

    kinds = (("tenants", ItemKind.TENANT), ("credentials", ItemKind.CREDENTIALS), ("API keys", ItemKind.API_KEY))
    outcomes = list(Outcome)
    header = f"{'':<12}" + "".join(f"{o.value:>11}" for o in outcomes)
    rows = [f"{label:<12}" + "".join(f"{report.count(o, kind):>11}" for o in outcomes) for label, kind in kinds]
    lines = [header, *rows]
    if dry_run_against is not None:
        lines.insert(0, f"DRY RUN: nothing was written (compared with {dry_run_against})\n")
    explained = [line for line in report.lines if line.reason]
    if explained:
        lines += ["", f"{'tenant':<24} {'item':<44} {'outcome':<10} reason"]
        lines += [
            f"{_printable(ln.tenant_id):<24} {_printable(ln.item):<44} {ln.outcome.value:<10} {ln.reason}"
            for ln in explained
        ]
    return "\n".join(lines)


def _printable(text: str) -> str:
    """Control characters escaped (an old id may end in a newline), so each line of the report stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


async def _rotate(config: Config, dsn: str, batch_size: int) -> int:
    """Re-seal every sealed kind; safe to interrupt and rerun (each value is re-sealed on its own, and only if
    nobody changed it meanwhile). Exits 1 when any value could not be opened (each is logged at ERROR)."""
    from dependency_injector import providers

    from tenant_core.sealing import SealedValues
    from tenant_entrypoints.container import report_unreadable

    container = _container(config, dsn)
    unreadable: list = []  # logged once the progress bar has finished its line
    container.sealed.override(providers.Singleton(SealedValues, container.cipher, unreadable.append))
    try:
        rotation = await container.key_rotation()
        total = await rotation.pending()
        with ProgressBar(total, label=f"re-sealing under key {next(iter(config.cipher_keys()))!r}") as bar:
            report = await rotation.rotate(batch_size, bar.update)
    finally:
        await container.shutdown_resources()
    for value in unreadable:
        report_unreadable(value)
    print(rotation_summary(report))
    return 1 if report.unreadable else 0


def rotation_summary(report) -> str:  # type: ignore[no-untyped-def]
    """One row per sealed kind: re-sealed, unreadable, and still under another key."""
    width = max(len("kind"), *(len(k.label) for k in report.kinds))
    header = f"{'kind':<{width}}  {'resealed':>9}  {'unreadable':>10}  remaining"
    lines = [f"re-sealed under key {report.key_id!r}", header]
    lines += [f"{k.label:<{width}}  {k.resealed:>9}  {len(k.unreadable):>10}  {k.remaining:>9}" for k in report.kinds]
    if report.unreadable:
        lines.append(
            f"\n{report.unreadable} values could not be opened with any configured key (logged above, one ERROR line "
            "each): put their key back in CREDENTIALS_KEYS, after the first, and run this again"
        )
    return "\n".join(lines)


async def _refuse_unopenable_values(config: Config, dsn: str) -> None:
    """Refuse to start, in one line, when stored values are sealed under keys this configuration cannot use.

    Built from the adapters alone (no container): ``serve`` runs it in its parent process, which must not load
    the metrics before the workers do. One connection; an index walk per sealed kind."""
    from tenant_adapters.crypto import AesGcmCipher
    from tenant_adapters.postgres import create_pool
    from tenant_adapters.postgres.sealed import PostgresSealedValues
    from tenant_core.sealing import SealedValues
    from tenant_core.use_cases.key_rotation import SealedKeyCheck, refusal

    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        check = SealedKeyCheck(PostgresSealedValues(pool), SealedValues(AesGcmCipher(config.cipher_keys())))
        problems = await check.problems()
    finally:
        await pool.close()
    if problems:
        raise StartupError(refusal(problems))


#: The principal the command acts as: an admin, named in the audit log of anything a check fills in.
CHECKER = Principal(subject="cli-check-connections", role=Role.ADMIN)


async def _check_connections(config: Config, dsn: str, tenant_id: str | None, concurrency: int) -> int:
    """Verify every stored credential (or one tenant's), ``concurrency`` at a time; non-zero when any fails. A
    kind this configuration cannot check (WhatsApp without a Meta app) is reported ``skipped``."""
    from tenant_core import MetaAppNotConfiguredError, TenantServiceError

    await _refuse_unopenable_values(config, dsn)
    container = _container(config, dsn)
    await container.init_resources()
    try:
        checks = await container.connections()
        try:
            targets = [target async for target in checks.configured(tenant_id)]
        except TenantServiceError as exc:
            raise StartupError(exc.message) from None
        limit, done = asyncio.Semaphore(concurrency), 0

        async def check(tenant: str, kind: str) -> tuple[str, str, str, str]:
            nonlocal done
            async with limit:
                try:
                    report = await checks.verify(CHECKER, tenant, kind)
                    failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failed())
                    row = (tenant, kind, "ok" if report.ok else FAILED, failed or "every check passed")
                except MetaAppNotConfiguredError as exc:  # a kind this configuration cannot check
                    row = (tenant, kind, SKIPPED, f"not checked: {exc.message} (META_APP_ID, META_APP_SECRET)")
                except TenantServiceError as exc:  # unreadable credentials, a tenant deleted meanwhile
                    row = (tenant, kind, FAILED, exc.message)
            done += 1
            bar.update(done)
            return row

        with ProgressBar(len(targets), label="checking connections") as bar:
            rows = await asyncio.gather(*(check(tenant, kind) for tenant, kind in targets))
    finally:
        await container.shutdown_resources()
    print(connections_table(rows))
    return 1 if any(result == FAILED for _, _, result, _ in rows) else 0


FAILED, SKIPPED = "FAILED", "skipped"


def connections_table(rows: list[tuple[str, str, str, str]]) -> str:
    """One line per connection (tenant, kind, result: ok, FAILED or skipped, detail) and a count of each result."""
    width = max([len("tenant"), *(len(tenant) for tenant, _, _, _ in rows)])
    lines = [f"{'tenant':<{width}}  {'kind':<8}  {'result':<7}  detail"]
    lines += [f"{t:<{width}}  {k:<8}  {result:<7}  {detail}" for t, k, result, detail in rows]
    counts = {result: sum(1 for _, _, r, _ in rows if r == result) for result in ("ok", FAILED, SKIPPED)}
    lines.append(f"\n{len(rows)} connections: {counts['ok']} ok, {counts[FAILED]} failed, {counts[SKIPPED]} skipped")
    return "\n".join(lines)


class ProgressBar:
    """A one-line progress bar on stderr that never shares a line with a log line.

    On a terminal it is drawn on the last line: anything written to stderr meanwhile (log lines) replaces it and
    it is drawn again below. Elsewhere (a pipe, a file, a CI log) it writes only its final state, as one line,
    when it finishes, so every other line of stderr stays whole (JSON log lines stay parseable)."""

    def __init__(self, total: int, label: str, width: int = 30) -> None:
        self._total, self._label, self._width, self._done = total, label, width, 0
        self._stream = sys.stderr
        self._live = self._stream.isatty()
        self._finished = False
        self._shown = False  # the bar is the terminal's last line now
        self._mid_line = False  # something wrote part of a line: the bar waits for its end
        if self._live:
            sys.stderr = _Above(self)  # type: ignore[assignment]
            self._draw()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def update(self, done: int) -> None:
        self._done = done
        if self._live and not self._finished:
            self._draw()

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._live:
            sys.stderr = self._stream
            self._stream.write(("\n" if self._mid_line else "") + "\r\x1b[K" + self._line() + "\n")
        else:
            self._stream.write(self._line() + "\n")
        self._stream.flush()

    def _line(self) -> str:
        filled = self._width * self._done // self._total if self._total else self._width
        return f"{self._label} [{'#' * filled}{'.' * (self._width - filled)}] {self._done}/{self._total}"

    def _draw(self) -> None:
        if not self._mid_line:
            self._stream.write("\r\x1b[K" + self._line())
            self._stream.flush()
            self._shown = True

    def _write_above(self, text: str) -> int:
        if self._shown:
            self._stream.write("\r\x1b[K")  # the bar makes way
            self._shown = False
        written = self._stream.write(text)
        self._mid_line = bool(text) and not text.endswith("\n")
        self._draw()
        return written


class _Above:
    """stderr while a progress bar is on the terminal: what is written goes above the bar."""

    def __init__(self, bar: ProgressBar) -> None:
        self._bar = bar

    def write(self, text: str) -> int:
        return self._bar._write_above(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._bar._stream, name)  # flush, isatty, fileno, encoding, ...


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a whole number, at least 1")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenant-service", description="Tenant Service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the HTTP service under granian")
    serve_cmd.add_argument("--host", default=None, help="address to bind (default HOST or 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=None, help="port (default PORT or 3007)")
    serve_cmd.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    rollback_cmd = commands.add_parser(
        "rollback", help="undo the last N migrations with their rollback SQL (lists them unless --yes)"
    )
    rollback_cmd.add_argument("--steps", type=_at_least_one, required=True, help="how many migrations to undo")
    confirm = rollback_cmd.add_mutually_exclusive_group()
    confirm.add_argument("--yes", action="store_true", help="roll back (drops what they added, data included)")
    confirm.add_argument("--dry-run", action="store_true", help="list what would be rolled back; change nothing")
    token_cmd = commands.add_parser("token", help="print a signed JWT for calling the API")
    token_cmd.add_argument("--role", required=True, choices=[r.value for r in Role])
    token_cmd.add_argument("--tenant", default=None, help="tenant id (required for --role tenant)")
    token_cmd.add_argument(
        "--subject", default=None, help="the token's sub claim, e.g. the calling service (default: cli-<role>-<random>)"
    )
    token_cmd.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    rotate_cmd = commands.add_parser(
        "rotate-credentials-key",
        help="re-seal every stored secret (credentials, webhook secrets, idempotency records) under the first "
        "CREDENTIALS_KEYS key; exit 1 if any cannot be opened",
    )
    rotate_cmd.add_argument("--batch-size", type=int, default=100, help="records per batch (default 100)")
    import_cmd = commands.add_parser(
        "import-legacy", help="import tenants, credentials, WhatsApp configuration and API keys from the old service"
    )
    import_cmd.add_argument("--from", dest="source", required=True, help="the old database: postgresql://…")
    import_cmd.add_argument(
        "--dry-run",
        action="store_true",
        help="report what would happen; write nothing anywhere (no database created, no migration, no file)",
    )
    check_cmd = commands.add_parser(
        "check-connections", help="verify every stored Genesys and WhatsApp connection; exit 1 if any fails"
    )
    check_cmd.add_argument("--tenant", default=None, help="check only this tenant")
    check_cmd.add_argument("--concurrency", type=int, default=8, help="checks in flight at once (default 8)")
    args = parser.parse_args(argv)

    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"tenant-service: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level, config.log_format, config.access_log_batch_ms)

    try:
        return _run(args, config)
    except StartupError as exc:
        print(f"tenant-service: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, config: Config) -> int:
    if args.command == "token":
        return _print_token(config, Role(args.role), args.tenant, args.subject, args.ttl)
    if args.command == "rotate-credentials-key":
        dsn, _embedded = _database_url(config)
        return asyncio.run(_rotate(config, dsn, max(1, args.batch_size)))
    if args.command == "import-legacy" and args.dry_run:
        return asyncio.run(_dry_run_import(config, args.source))
    if args.command == "import-legacy":
        dsn, _embedded = _database_url(config)
        _migrate(dsn, config.migration_lock_timeout)
        return asyncio.run(_import_legacy(config, dsn, args.source))
    if args.command == "check-connections":
        dsn, _embedded = _database_url(config)
        return asyncio.run(_check_connections(config, dsn, args.tenant, max(1, args.concurrency)))
    if args.command == "migrate":
        dsn, _embedded = _database_url(config)
        _migrate(dsn, config.migration_lock_timeout)
        return 0
    if args.command == "rollback":
        dsn, _embedded = _database_url(config)
        return _rollback(dsn, args.steps, args.yes, args.dry_run, config.migration_lock_timeout)
    port = args.port if args.port is not None else config.port
    if not 1 <= port <= 65535 or args.workers < 1:
        print("tenant-service: --port must be 1-65535 and --workers at least 1", file=sys.stderr)
        return 2
    serve(config, args.host or config.host, port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
