"""An embedded Postgres (pgserver) so the service runs on a bare machine with no database installed."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) the Postgres whose data lives in ``data_dir/postgres``; returns ``(dsn, handle)``.

    Data survives restarts. The server stops when the last process holding a handle exits. As root,
    pgserver runs Postgres as a ``pgserver`` system user, which must be able to own this directory.
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; /tmp is fine here
        warnings.simplefilter("ignore")
        import pgserver  # imported here: starting a database is never an import-time side effect

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")
    return server.get_uri(), server


def default_data_dir() -> Path:
    return Path(os.environ.get("TENANT_SERVICE_DATA_DIR", ".tenant-service")).resolve()
