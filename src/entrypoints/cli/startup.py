"""What every command needs first: the database (configured or embedded), a container on it, and the
refusal to start on values sealed under keys this configuration lacks."""

from __future__ import annotations

from typing import Any

import msgspec
from loguru import logger

from tenant_entrypoints.config import Config


class StartupError(Exception):
    """Something the operator must fix before the service can start; the message says what."""


def database_url(config: Config) -> tuple[str, Any]:
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
    # Its address (a socket in the data directory) is for the operator's psql and pg_dump; no password.
    logger.info("Embedded Postgres running", data_dir=str(config.data_dir / "postgres"), database_url=dsn)
    return dsn, handle


def existing_database(config: Config) -> tuple[str | None, Any]:
    """``DATABASE_URL``, or the embedded database if the data directory already holds one (started as
    ``serve`` starts it, reusing a running one), with its handle; ``(None, None)`` rather than create one."""
    if config.database_url:
        return config.database_url, None
    if not (config.data_dir / "postgres" / "PG_VERSION").exists():
        return None, None
    return database_url(config)


def container_for(config: Config, dsn: str):  # type: ignore[no-untyped-def]
    from tenant_entrypoints.container import build_container

    return build_container(msgspec.structs.replace(config, database_url=dsn))


async def refuse_unopenable_values(config: Config, dsn: str) -> None:
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
