"""What each worker process of ``serve`` runs first: it ties its life to the ``serve`` process, then builds the app.

granian runs the app in worker processes that its master forks. When the master dies without stopping them
(``kill -9``, the OOM killer), nothing tells the workers: they kept answering on the port, so a restart failed
with "address in use" and the service was half alive. Here a worker asks to be sent SIGTERM when its parent
dies (Linux ``prctl(PR_SET_PDEATHSIG)``; elsewhere a thread watches the parent's pid), and SIGTERM is the
worker's ordinary graceful stop: it stops accepting, finishes what is in flight, closes its pools and exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from typing import Any

#: ``serve`` puts its own pid here before granian forks the workers (their expected parent).
MASTER_PID = "TENANT_SERVICE_MASTER_PID"

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def create_app() -> Any:
    """granian's factory in each worker: stop with ``serve``, then build the app from the environment."""
    master = os.environ.get(MASTER_PID)
    if master is not None:
        stop_when_parent_dies(int(master))
    from tenant_entrypoints.http.app import create_app as build

    return build()


def stop_when_parent_dies(parent_pid: int, poll_seconds: float = 1.0) -> None:
    """Send this process SIGTERM when ``parent_pid`` (its parent) exits; exit at once if it already has."""
    if not _ask_kernel_for_sigterm_on_parent_death():
        threading.Thread(target=_watch_parent, args=(parent_pid, poll_seconds), daemon=True).start()
    # Checked after arming: a parent that died before that would never trigger the signal.
    if os.getppid() != parent_pid:
        sys.exit("tenant-service: serve exited before this worker started")


def _ask_kernel_for_sigterm_on_parent_death() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0


def _watch_parent(parent_pid: int, poll_seconds: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    os.kill(os.getpid(), signal.SIGTERM)
