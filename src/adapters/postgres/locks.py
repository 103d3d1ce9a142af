"""Fleet locks as Postgres session advisory locks.

A lock is held by one pooled connection for as long as its holder works. The server lets go of it when that
connection ends, so a holder that crashes or loses the database leaves nothing behind (asyncpg also unlocks
every advisory lock of a connection it takes back into the pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tenant_adapters.postgres.errors import translated
from tenant_core.errors import UnavailableError

#: Advisory lock keys by name, beside the sequencer's (0x7E4A0E17) and the migrations' (0x7E4A0E18).
LOCK_KEYS = {"connection-watch": 0x7E4A_0E19}


class _Held:
    """The connection holding a lock: asked whether it is still there at most once a second."""

    def __init__(self, connection: asyncpg.Connection, confirm_every: float = 1.0) -> None:
        self._connection = connection
        self._confirm_every = confirm_every
        self._confirmed = time.monotonic()
        self._lost = False
        self._asking = asyncio.Lock()  # one statement at a time on a connection

    async def still_held(self) -> bool:
        async with self._asking:
            if not self._lost and time.monotonic() - self._confirmed >= self._confirm_every:
                try:
                    with translated():
                        await self._connection.fetchval("SELECT 1")
                    self._confirmed = time.monotonic()
                except UnavailableError:
                    self._lost = True  # the session, and the lock with it, is gone
            return not self._lost


class PostgresFleetLocks:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def try_hold(self, name: str) -> AsyncIterator[_Held | None]:
        key = LOCK_KEYS[name]  # an unknown name is a bug: fail loudly
        with translated():
            connection = await self._pool.acquire()
        try:
            with translated():
                got = await connection.fetchval("SELECT pg_try_advisory_lock($1)", key)
            if not got:
                yield None
                return
            held = _Held(connection)
            try:
                yield held
            finally:
                with contextlib.suppress(*_GONE):  # a connection that died took the lock with it
                    await connection.execute("SELECT pg_advisory_unlock($1)", key)
        finally:
            await self._pool.release(connection)


_GONE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError)
