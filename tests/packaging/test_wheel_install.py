"""The wheel as a user installs it (not editable, in a fresh venv): `migrate` builds the schema of an empty
database from the migrations inside the package, with no environment variable, and `serve` then works."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tenant_adapters.jwt import JwtTokens
from tenant_adapters.postgres.migrations import expected_migration_ids
from tenant_core import Principal, Role
from tests.support.servers import free_port, separate_database

SECRET = "wheel-install-secret-" + "w" * 32


async def test_the_installed_wheel_migrates_an_empty_database_and_serves(wheel: Path, postgres_url, tmp_path):
    venv = tmp_path / "venv"
    started = time.monotonic()
    # No pip inside the venv (ensurepip alone takes about 10 s here): this interpreter's pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-compile",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    print(f"venv and install with dependencies: {time.monotonic() - started:.1f} s")
    url = await separate_database(postgres_url, "wheel_install")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TENANT_SERVICE_MIGRATIONS")}
    env.update(DATABASE_URL=url, JWT_SECRET=SECRET, TENANT_SERVICE_DATA_DIR=str(tmp_path / "data"), LOG_FORMAT="json")
    service = str(venv / "bin" / "tenant-service")

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import tenant_adapters; print(tenant_adapters.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), where.stdout  # the installed copy, not this checkout
    migrated = subprocess.run([service, "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    assert '"msg":"Migrations applied"' in migrated.stderr
    assert all(m in migrated.stderr for m in expected_migration_ids())

    port = free_port()
    process = subprocess.Popen(
        [service, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "serve never became ready"
            time.sleep(0.1)
        token = JwtTokens(SECRET).issue(Principal("wheel-test", Role.ADMIN), 600)
        created = httpx.post(
            f"{base}/tenants",
            json={"name": "Wheel", "email": "wheel@x.com"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
    finally:
        process.terminate()
        process.communicate(timeout=15)
