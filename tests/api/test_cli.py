"""The README's run command: ``tenant-service serve`` answers on its port (granian, real sockets)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.support.servers import free_port


def test_serve_runs_migrations_and_answers(postgres_url, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": postgres_url, "TENANT_SERVICE_DATA_DIR": str(tmp_path)}
    for name in ("REDIS_URL", "JWT_SECRET", "AUTH_DISABLED"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)],
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
            [sys.executable, "-m", "entrypoints.cli", "token", "--role", "admin"],
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
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0].decode()
    assert process.returncode == 0, output
    assert '"msg":"request"' in output  # one JSON access-log line per request
