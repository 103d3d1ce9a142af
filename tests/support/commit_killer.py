"""A TCP proxy on a service's database link that kills the service the moment its COMMIT succeeds.

Once ``armed``, the first ``CommandComplete`` message with the tag ``COMMIT`` that the server sends through
the proxy is held back, and the given process group is sent SIGKILL before anything else happens: the
transaction committed in the database, and its writer never learned it. The proxy speaks just enough of the
PostgreSQL protocol to find message boundaries, so the service's DSN must disable TLS (``sslmode=disable``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct
import time
from urllib.parse import parse_qs, urlsplit, urlunsplit

_COMMIT = b"C" + struct.pack("!i", 4 + len(b"COMMIT\0")) + b"COMMIT\0"


class CommitKiller:
    def __init__(self, database_url: str) -> None:
        self._upstream = urlsplit(database_url)
        self.armed = False
        self.victim: int | None = None  # the process group to kill
        self.killed_at: float | None = None  # time.monotonic() of the kill
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> CommitKiller:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        """The database URL to give the service: this proxy, same user and database, no TLS."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        user = self._upstream.username or "postgres"
        password = f":{self._upstream.password}" if self._upstream.password else ""
        return urlunsplit(
            ("postgresql", f"{user}{password}@127.0.0.1:{port}", self._upstream.path, "sslmode=disable", "")
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()

    async def _connect_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        socket_dir = parse_qs(self._upstream.query).get("host", [None])[0]
        port = self._upstream.port or 5432
        if socket_dir:
            return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        return await asyncio.open_connection(self._upstream.hostname, port)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await self._connect_upstream()
        upstream = asyncio.create_task(self._pipe(client_reader, server_writer))
        downstream = asyncio.create_task(self._watch(server_reader, client_writer))
        self._tasks.update((upstream, downstream))
        try:
            await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (upstream, downstream):
                task.cancel()
                self._tasks.discard(task)
            for writer in (client_writer, server_writer):
                with contextlib.suppress(Exception):
                    writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

    async def _watch(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Server to client, message by message."""
        while True:
            header = await reader.readexactly(5)
            (length,) = struct.unpack("!i", header[1:])
            message = header + await reader.readexactly(length - 4)
            if self.armed and message == _COMMIT:
                committed_at = time.monotonic()
                self.armed = False
                assert self.victim is not None
                os.killpg(self.victim, signal.SIGKILL)
                self.killed_at = committed_at
                return  # the service never hears of its commit
            writer.write(message)
            await writer.drain()
