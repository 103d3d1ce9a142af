"""``serve``: checks and settings in the parent process, then granian's workers."""

from __future__ import annotations

import asyncio
import math
import os
import socket
from pathlib import Path

from loguru import logger

from tenant_entrypoints.cli.migrations import migrate
from tenant_entrypoints.cli.startup import StartupError, database_url, refuse_unopenable_values
from tenant_entrypoints.config import Config
from tenant_entrypoints.serve_worker import MASTER_PID


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
    dsn, _embedded = database_url(config)
    migrate(dsn, config.migration_lock_timeout)
    asyncio.run(refuse_unopenable_values(config, dsn))
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
        # A graceful stop has a bound: in-flight requests finish, then a worker still running is killed.
        workers_kill_timeout=max(1, math.ceil(config.shutdown_timeout)),
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
