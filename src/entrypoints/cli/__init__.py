"""``tenant-service``: run the service and operate it.

tenant-service serve [--host 127.0.0.1] [--port 3007] [--workers N]
tenant-service migrate
tenant-service rollback --steps N [--dry-run | --yes]
tenant-service token --role admin|service|tenant [--tenant ID] [--ttl SECONDS]
tenant-service rotate-credentials-key [--batch-size 100]
tenant-service import-legacy --from postgresql://… [--dry-run]
tenant-service check-connections [--tenant ID] [--concurrency 8]

One module per command; this one parses the command line and dispatches.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tenant_core.security import Role
from tenant_entrypoints.cli.connections import check_connections
from tenant_entrypoints.cli.key_rotation import rotate
from tenant_entrypoints.cli.legacy_import import dry_run_import, import_legacy
from tenant_entrypoints.cli.migrations import migrate, rollback
from tenant_entrypoints.cli.serve import serve
from tenant_entrypoints.cli.startup import StartupError, database_url
from tenant_entrypoints.cli.tokens import print_token
from tenant_entrypoints.config import Config, ConfigError
from tenant_entrypoints.log import configure_logging

__all__ = ["main"]


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
        return print_token(config, Role(args.role), args.tenant, args.subject, args.ttl)
    if args.command == "rotate-credentials-key":
        dsn, _embedded = database_url(config)
        return asyncio.run(rotate(config, dsn, max(1, args.batch_size)))
    if args.command == "import-legacy" and args.dry_run:
        return asyncio.run(dry_run_import(config, args.source))
    if args.command == "import-legacy":
        dsn, _embedded = database_url(config)
        migrate(dsn, config.migration_lock_timeout)
        return asyncio.run(import_legacy(config, dsn, args.source))
    if args.command == "check-connections":
        dsn, _embedded = database_url(config)
        return asyncio.run(check_connections(config, dsn, args.tenant, max(1, args.concurrency)))
    if args.command == "migrate":
        dsn, _embedded = database_url(config)
        migrate(dsn, config.migration_lock_timeout)
        return 0
    if args.command == "rollback":
        dsn, _embedded = database_url(config)
        return rollback(dsn, args.steps, args.yes, args.dry_run, config.migration_lock_timeout)
    port = args.port if args.port is not None else config.port
    if not 1 <= port <= 65535 or args.workers < 1:
        print("tenant-service: --port must be 1-65535 and --workers at least 1", file=sys.stderr)
        return 2
    serve(config, args.host or config.host, port, args.workers)
    return 0
