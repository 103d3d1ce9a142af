"""The asyncpg connection pool, with JSON columns decoded by msgspec."""

from __future__ import annotations

import asyncpg
import msgspec

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


async def _init_connection(connection: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await connection.set_type_codec(
            json_type,
            schema="pg_catalog",
            encoder=lambda value: _json_encode(value).decode(),
            decoder=_json_decode,
            format="text",
        )


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, command_timeout: float = 5.0, connect_timeout: float = 5.0
) -> asyncpg.Pool:
    """Open a pool; ``command_timeout`` bounds every statement so a stuck database fails requests fast."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        timeout=connect_timeout,
        init=_init_connection,
    )
