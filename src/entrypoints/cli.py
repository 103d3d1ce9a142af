"""``tenant-service``: run the service and operate it.

tenant-service serve [--host 127.0.0.1] [--port 3007] [--workers N]
tenant-service migrate
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
from tenant_entrypoints.config import Config, ConfigError
from tenant_entrypoints.log import configure_logging


def _database_url(config: Config) -> tuple[str, Any]:
    """The configured database, or the embedded one started in the data directory."""
    if config.database_url:
        return config.database_url, None
    from tenant_adapters.postgres.embedded import IncompatibleDataDirectoryError, start_embedded_postgres

    try:
        dsn, handle = start_embedded_postgres(config.data_dir)
    except IncompatibleDataDirectoryError as exc:
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


def _migrate(dsn: str) -> None:
    from tenant_adapters.postgres import apply_migrations

    try:
        applied = apply_migrations(dsn)
    except Exception as exc:  # psycopg and yoyo raise several kinds; all mean the same to the operator
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        host = urlsplit(dsn).hostname or "local socket"
        raise StartupError(f"cannot migrate the database at {host} ({reason}); check DATABASE_URL") from None
    logger.info("Migrations applied" if applied else "Schema is up to date", applied=applied)


def serve(config: Config, host: str, port: int, workers: int) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    _check_can_listen(host, port)
    dsn, _embedded = _database_url(config)
    _migrate(dsn)
    os.environ["DATABASE_URL"] = dsn  # workers build their app from the environment
    os.environ["TENANT_SERVICE_WORKERS"] = str(workers)
    if workers > 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Several workers add their metrics up through files; one keeps them in memory, which costs each
        # request less (multiprocess values check the pid and write to a mapped file on every update).
        _prepare_metrics_dir(config.data_dir / "metrics")
    config.signing_secret()  # create the shared secret once, before workers race for it
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
        "tenant_entrypoints.http.app:create_app",
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
    ).serve()


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
    tokens = JwtTokens(config.signing_secret(), issuer=config.jwt_issuer, audience=config.jwt_audience)
    print(tokens.issue(principal, ttl))
    return 0


def _container(config: Config, dsn: str):  # type: ignore[no-untyped-def]
    from tenant_entrypoints.container import build_container

    return build_container(msgspec.structs.replace(config, database_url=dsn))


async def _import_legacy(config: Config, dsn: str, source_dsn: str, dry_run: bool) -> int:
    """Each tenant is one transaction and compared with what is stored: rerunning is a no-op, and rerunning
    an interrupted import finishes it."""
    from tenant_adapters.legacy import PostgresLegacySource

    try:
        source = await PostgresLegacySource.connect(source_dsn)
    except Exception as exc:  # OSError, a malformed URL, asyncpg's errors: all mean "check --from"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"cannot read the old database ({reason}); check --from") from None
    container = _container(config, dsn)
    await container.init_resources()
    try:
        importer = await container.legacy_import()
        bar = ProgressBar(await source.count(), label="importing tenants" + (" (dry run)" if dry_run else ""))
        report = await importer.run(source, dry_run=dry_run, on_progress=bar.update)
        bar.finish()
    finally:
        await source.close()
        await container.shutdown_resources()
    print(import_summary(report, dry_run))
    return 0


def import_summary(report, dry_run: bool) -> str:  # type: ignore[no-untyped-def]
    """The counts per kind of thing and outcome, then every line that has a reason."""
    from tenant_core.use_cases.legacy_import import Outcome

    kinds = (("tenants", "tenant"), ("credentials", "credentials."), ("API keys", "api_key"))
    outcomes = list(Outcome)
    header = f"{'':<12}" + "".join(f"{o.value:>11}" for o in outcomes)
    rows = [f"{label:<12}" + "".join(f"{report.count(o, prefix):>11}" for o in outcomes) for label, prefix in kinds]
    lines = [("DRY RUN: nothing was written\n" if dry_run else "") + header, *rows]
    explained = [line for line in report.lines if line.reason]
    if explained:
        lines += ["", f"{'tenant':<24} {'item':<44} {'outcome':<10} reason"]
        lines += [f"{ln.tenant_id:<24} {ln.item:<44} {ln.outcome.value:<10} {ln.reason}" for ln in explained]
    return "\n".join(lines)


async def _rotate(config: Config, dsn: str, batch_size: int) -> int:
    """Safe to interrupt and rerun: each record is resealed on its own, and only if nobody changed it meanwhile."""
    container = _container(config, dsn)
    await container.init_resources()
    try:
        rotation = await container.key_rotation()
        total = await rotation.pending()
        bar = ProgressBar(total, label=f"re-sealing under key {next(iter(config.cipher_keys()))!r}")
        report = await rotation.rotate(batch_size, bar.update)
        bar.finish()
    finally:
        await container.shutdown_resources()
    logger.info("Credentials key rotated", resealed=report.resealed, remaining=report.remaining)
    for tenant_id, kind in report.unreadable:
        print(f"tenant-service: cannot open {kind} credentials of {tenant_id} with any configured key", file=sys.stderr)
    return 1 if report.unreadable else 0


#: The principal the command acts as: an admin, named in the audit log of anything a check fills in.
CHECKER = Principal(subject="cli-check-connections", role=Role.ADMIN)


async def _check_connections(config: Config, dsn: str, tenant_id: str | None, concurrency: int) -> int:
    """Verify every stored credential (or one tenant's), ``concurrency`` at a time; non-zero when any fails."""
    from tenant_core import CredentialType, TenantServiceError

    container = _container(config, dsn)
    await container.init_resources()
    try:
        checks = await container.connections()
        try:
            targets = [target async for target in checks.configured(tenant_id)]
        except TenantServiceError as exc:
            raise StartupError(exc.message) from None
        bar = ProgressBar(len(targets), label="checking connections")
        limit, done = asyncio.Semaphore(concurrency), 0

        async def check(tenant: str, kind: str) -> tuple[str, str, bool, str]:
            nonlocal done
            async with limit:
                try:
                    report = await checks.verify(CHECKER, tenant, CredentialType(kind))
                    failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failed())
                    row = (tenant, kind, report.ok, failed or "every check passed")
                except TenantServiceError as exc:  # unreadable credentials, no Meta app, a tenant deleted meanwhile
                    row = (tenant, kind, False, exc.message)
            done += 1
            bar.update(done)
            return row

        rows = await asyncio.gather(*(check(tenant, kind) for tenant, kind in targets))
        bar.finish()
    finally:
        await container.shutdown_resources()
    print(connections_table(rows))
    return 0 if all(ok for _, _, ok, _ in rows) else 1


def connections_table(rows: list[tuple[str, str, bool, str]]) -> str:
    """One line per connection (tenant, kind, ok, detail) and a count of failures."""
    width = max([len("tenant"), *(len(tenant) for tenant, _, _, _ in rows)])
    lines = [f"{'tenant':<{width}}  {'kind':<8}  {'ok':<6}  detail"]
    lines += [f"{t:<{width}}  {k:<8}  {'ok' if ok else 'FAILED':<6}  {detail}" for t, k, ok, detail in rows]
    failed = sum(1 for _, _, ok, _ in rows if not ok)
    lines.append(f"\n{len(rows)} connections checked, {failed} failed")
    return "\n".join(lines)


class ProgressBar:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, label: str, width: int = 30) -> None:
        self._total, self._label, self._width = total, label, width
        self.update(0)

    def update(self, done: int) -> None:
        filled = self._width * done // self._total if self._total else self._width
        sys.stderr.write(f"\r{self._label} [{'#' * filled}{'.' * (self._width - filled)}] {done}/{self._total}")
        sys.stderr.flush()

    def finish(self) -> None:
        sys.stderr.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenant-service", description="Tenant Service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the HTTP service under granian")
    serve_cmd.add_argument("--host", default=None, help="address to bind (default HOST or 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=None, help="port (default PORT or 3007)")
    serve_cmd.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    token_cmd = commands.add_parser("token", help="print a signed JWT for calling the API")
    token_cmd.add_argument("--role", required=True, choices=[r.value for r in Role])
    token_cmd.add_argument("--tenant", default=None, help="tenant id (required for --role tenant)")
    token_cmd.add_argument(
        "--subject", default=None, help="the token's sub claim, e.g. the calling service (default: cli-<role>-<random>)"
    )
    token_cmd.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    rotate_cmd = commands.add_parser(
        "rotate-credentials-key", help="re-encrypt every stored credential under the first CREDENTIALS_KEYS key"
    )
    rotate_cmd.add_argument("--batch-size", type=int, default=100, help="records per batch (default 100)")
    import_cmd = commands.add_parser(
        "import-legacy", help="import tenants, credentials, WhatsApp configuration and API keys from the old service"
    )
    import_cmd.add_argument("--from", dest="source", required=True, help="the old database: postgresql://…")
    import_cmd.add_argument("--dry-run", action="store_true", help="report what would happen; write nothing")
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
    if args.command == "import-legacy":
        dsn, _embedded = _database_url(config)
        _migrate(dsn)
        return asyncio.run(_import_legacy(config, dsn, args.source, args.dry_run))
    if args.command == "check-connections":
        dsn, _embedded = _database_url(config)
        return asyncio.run(_check_connections(config, dsn, args.tenant, max(1, args.concurrency)))
    if args.command == "migrate":
        dsn, _embedded = _database_url(config)
        _migrate(dsn)
        return 0
    port = args.port if args.port is not None else config.port
    if not 1 <= port <= 65535 or args.workers < 1:
        print("tenant-service: --port must be 1-65535 and --workers at least 1", file=sys.stderr)
        return 2
    serve(config, args.host or config.host, port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
