"""``tenant-service serve`` as a real process, for tests that signal, kill or fuzz it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tenant_adapters.jwt import JwtTokens
from tenant_core import Principal, Role
from tests.support.servers import free_port

SECRET = "fault-tests-secret-" + "f" * 32
ADMIN = {"Authorization": "Bearer " + JwtTokens(SECRET).issue(Principal("admin", Role.ADMIN), 24 * 3600)}


class ServiceProcess:
    """``tenant-service serve`` in its own process group, so that it can be signalled as a whole."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, "JWT_SECRET": SECRET, **env}
        self._log = log
        self._workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> ServiceProcess:
        with open(self._log, "a") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tenant_entrypoints.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self._workers),
                ],
                env=self._env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    if (await client.get(f"{self.url}/health/ready")).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"service did not start:\n{self._log.read_text()[-2000:]}")

    def log(self) -> str:
        """Everything the service wrote (stdout and stderr)."""
        return self._log.read_text()

    def errors_logged(self) -> list[str]:
        """The service's error log lines (for assertion messages)."""
        lines = [json.loads(line) for line in self._log.read_text().splitlines() if line.startswith("{")]
        return [f"{e.get('error')}: {e.get('trace', '').splitlines()[-1:]}" for e in lines if e["level"] == "ERROR"]

    def signal(self, signum: int) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signum)

    def kill_master(self) -> None:
        """SIGKILL to ``serve`` alone, not its workers (as the OOM killer or a careless ``kill -9 PID`` does)."""
        assert self.process is not None
        self.process.kill()

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator:
    started: list[ServiceProcess] = []

    def make(env: dict[str, str], workers: int = 1, port: int | None = None) -> ServiceProcess:
        service = ServiceProcess(
            {"TENANT_SERVICE_DATA_DIR": str(tmp_path), **env}, tmp_path / "service.log", workers, port
        )
        started.append(service)
        return service

    yield make
    for service in started:
        if service.process is None:
            continue
        try:  # the whole group: workers outlive a master that a test killed alone
            service.signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        service.wait()
