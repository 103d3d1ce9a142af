"""``migrate`` and ``rollback``."""

from __future__ import annotations

import sys

from loguru import logger

from tenant_entrypoints.cli.startup import StartupError


def migrate(dsn: str, lock_timeout: float) -> None:
    from tenant_adapters.postgres.migrations import MigrationError, apply_migrations

    try:
        applied = apply_migrations(dsn, lock_timeout=lock_timeout)
    except MigrationError as exc:  # unreachable database, another migration past the wait, a failed migration
        raise StartupError(str(exc)) from None
    logger.info("Migrations applied" if applied else "Schema is up to date", applied=applied)


def rollback(dsn: str, steps: int, confirmed: bool, dry_run: bool, lock_timeout: float) -> int:
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
