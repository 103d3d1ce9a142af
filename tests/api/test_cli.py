"""The README's run command: ``tenant-service serve`` answers on its port (granian, real sockets)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import jwt

from tests.support.servers import free_port


def test_serve_runs_migrations_and_answers(postgres_url, clean_postgres, tmp_path):
    # clean_postgres: values other tests sealed under their keys would (rightly) stop this key's start-up.
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "TENANT_SERVICE_DATA_DIR": str(tmp_path),
        "HTTP_IDLE_TIMEOUT_SECONDS": "1",
    }
    for name in ("REDIS_URL", "JWT_SECRET", "AUTH_DISABLED"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tenant_entrypoints.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("service did not become ready")
        token = subprocess.run(
            [sys.executable, "-m", "tenant_entrypoints.cli", "token", "--role", "admin"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        url = f"http://127.0.0.1:{port}/api/tenants"
        assert httpx.post(url, json={"name": "CLI", "email": "cli@x.com"}).status_code == 401
        created = httpx.post(
            url, json={"name": "CLI", "email": "cli@x.com"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201
        assert "x-request-id" in created.headers
        assert _closed_within(port, seconds=5), "a connection that sends nothing must be closed by the idle timeout"
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0].decode()
    assert process.returncode == 0, output
    assert '"msg":"request"' in output  # one JSON access-log line per request


def _closed_within(port: int, seconds: float) -> bool:
    """Open a connection, send nothing, and see whether the server closes it in time."""
    with socket.create_connection(("127.0.0.1", port)) as silent:
        silent.settimeout(seconds)
        try:
            return silent.recv(1) == b""
        except TimeoutError:
            return False


def _mint(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JWT_SECRET": "cli-test-secret-" + "c" * 32}
    command = [sys.executable, "-m", "tenant_entrypoints.cli", "token", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def test_cli_tokens_are_unique_and_capped():
    claims = [jwt.decode(_mint("--role", "admin").stdout.strip(), options={"verify_signature": False}) for _ in "ab"]
    assert claims[0]["sub"] != claims[1]["sub"] and claims[0]["jti"] != claims[1]["jti"]
    assert claims[0]["sub"].startswith("cli-admin-")
    named = _mint("--role", "service", "--subject", "genesys-api-service").stdout.strip()
    assert jwt.decode(named, options={"verify_signature": False})["sub"] == "genesys-api-service"
    too_long = _mint("--role", "admin", "--ttl", str(31 * 24 * 3600))
    assert too_long.returncode == 2 and "JWT_MAX_TTL_SECONDS" in too_long.stderr
