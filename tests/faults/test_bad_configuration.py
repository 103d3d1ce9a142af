"""Start-up with a bad configuration exits non-zero at once, with one line saying what to fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest


def serve(tmp_path, args: list[str] = (), **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TENANT_SERVICE_DATA_DIR": str(tmp_path), **env}
    for name in ("DATABASE_URL", "REDIS_URL", "RABBITMQ_URL", "PORT", "CREDENTIALS_KEYS"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "tenant_entrypoints.cli", "serve", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DATABASE_URL": "mysql://user@db/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://user:pw@127.0.0.1:1/nowhere"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://user:pw#1@127.0.0.1:1/nowhere"}, "DATABASE_URL"),  # '#' not encoded
        ({"DATABASE_URL": "postgresql://user:pw/1@127.0.0.1:1/nowhere"}, "DATABASE_URL"),
        ({"REDIS_URL": "redis://:pw#1@127.0.0.1:6379/0"}, "REDIS_URL"),
        ({"RABBITMQ_URL": "amqp://user:pw#1@127.0.0.1:5672/"}, "RABBITMQ_URL"),
        ({"CREDENTIALS_KEYS": "k=bm90LTMyLWJ5dGVz"}, "CREDENTIALS_KEYS"),
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"REDIS_URL": "memcached://x"}, "REDIS_URL"),
        ({"JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"HTTP_BODY_TIMEOUT_SECONDS": "0"}, "HTTP_BODY_TIMEOUT_SECONDS"),
        ({"HTTP_MAX_CONNECTIONS": "many"}, "HTTP_MAX_CONNECTIONS"),
        ({"SHUTDOWN_TIMEOUT_SECONDS": "0"}, "SHUTDOWN_TIMEOUT_SECONDS"),
        ({"TENANT_SERVICE_INSTANCES": "0"}, "TENANT_SERVICE_INSTANCES"),
        ({"TENANT_SERVICE_INSTANCES": "three"}, "TENANT_SERVICE_INSTANCES"),
    ],
)
def test_bad_setting_exits_with_one_line(tmp_path, env, names):
    started = time.monotonic()
    result = serve(tmp_path, **env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1 and names in lines[0], result.stderr
    assert "pw" not in result.stderr  # a password in DATABASE_URL is never echoed
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    ("command", "env"),
    [
        (["rotate-credentials-key"], {"DATABASE_URL": "postgresql://user:pw#1@127.0.0.1:1/nowhere"}),
        (["check-connections"], {"DATABASE_URL": "postgresql://user:pw?1@127.0.0.1:1/nowhere"}),
        (["rollback", "--steps", "1"], {"DATABASE_URL": "postgresql://user:pw#1@127.0.0.1:1/nowhere"}),
        (["import-legacy", "--dry-run", "--from", "postgresql://old:pw#2@127.0.0.1:1/x"], {}),
    ],
    ids=["rotate", "check-connections", "rollback", "import-from"],
)
def test_a_password_the_url_parser_misreads_is_never_printed(tmp_path, command, env):
    """An unencoded '#', '/' or '?' in a password ends the URL's host part early, so the password's start was
    read as the port and printed: "Port could not be cast to integer value as 'pw'" (rollback, migrate, serve),
    "invalid literal for int() with base 10: 'pw'" (import-legacy --from), in a traceback (rotation, checks)."""
    environment = {**os.environ, "TENANT_SERVICE_DATA_DIR": str(tmp_path), **env}
    if "DATABASE_URL" not in env:
        environment.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "tenant_entrypoints.cli", *command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1 and "percent-encode" in lines[0], result.stderr
    assert "pw" not in result.stdout + result.stderr


def test_port_in_use_exits_with_one_line(tmp_path, postgres_url):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = serve(tmp_path, ["--port", str(port)], DATABASE_URL=postgres_url)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], result.stderr


def test_a_data_directory_of_an_older_postgres_is_refused_not_opened(tmp_path):
    """A data directory the old embedded PostgreSQL 16 made is detected and left untouched."""
    pgdata = tmp_path / "postgres"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("16\n")
    (pgdata / "base").mkdir()
    result = serve(tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "PostgreSQL 16" in lines[0] and "pg_dump" in lines[0], result.stderr
    assert sorted(p.name for p in pgdata.iterdir()) == ["PG_VERSION", "base"]  # nothing was written there
