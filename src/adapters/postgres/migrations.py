"""Schema migrations with yoyo (psycopg 3 driver, used for migrations only)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from yoyo import get_backend, read_migrations

#: The repository's ``migrations/`` folder; override with ``TENANT_SERVICE_MIGRATIONS`` (e.g. in the image).
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[3] / "migrations"


def migrations_directory() -> Path:
    return Path(os.environ.get("TENANT_SERVICE_MIGRATIONS", DEFAULT_DIRECTORY))


def _yoyo_uri(dsn: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def expected_migration_ids(directory: Path | None = None) -> set[str]:
    directory = directory or migrations_directory()
    return {p.name.removesuffix(".sql") for p in directory.glob("*.sql") if not p.name.endswith(".rollback.sql")}


def apply_migrations(dsn: str, directory: Path | None = None) -> list[str]:
    """Apply pending migrations under yoyo's lock (safe with several instances); returns the ids applied."""
    backend = get_backend(_yoyo_uri(dsn))
    migrations = read_migrations(str(directory or migrations_directory()))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]
