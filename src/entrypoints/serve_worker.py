"""What each worker process of ``serve`` runs first: it ties its life to the ``serve`` process, then builds the app.

granian runs the app in worker processes that its master forks. When the master dies without stopping them
(``kill -9``, the OOM killer), nothing tells the workers: they kept answering on the port, so a restart failed
with "address in use" and the service was half alive. Here a worker asks the kernel to kill it when its parent
dies (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; elsewhere a thread watches the parent's pid and exits).

Why a kill and not SIGTERM, the worker's graceful stop: a worker still starting has the SIGTERM handler it
inherited from granian's master until it installs its own, and that handler could block (holding the GIL), so
such a worker could neither stop nor run anything else, and served on, orphaned, for good (seen when ``serve``
was killed a moment after it answered ready). A master killed outright is a crash; its workers go with it, as they would
in one process. Requests in flight at that moment are cut, and the event work they held is claimed under
leases, so another worker redoes it.

A graceful stop (SIGTERM to ``serve``, which passes it on to each worker) had the same gap: until granian's
worker installs its own handlers, a forked worker still has the master's, which only set a flag in the
master's copied state. A worker told to stop while it was starting served on, and ``serve`` waited for it
forever. So a worker holds SIGTERM and SIGINT from its first line and replays them once its server listens.
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


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_held: list[int] = []  # stop signals that arrived before granian's worker listened for them


def create_app() -> Any:
    """granian's factory in each worker: stop with ``serve``, then build the app from the environment."""
    master = os.environ.get(MASTER_PID)
    if master is None:
        from tenant_entrypoints.http.app import create_app as build

        return build()
    hold_stop_signals()
    stop_when_parent_dies(int(master))
    from tenant_entrypoints.http.app import create_app as build

    app = build()
    # granian installs the worker's own handlers before the app's start-up hooks run, and this hook runs last.
    app.on_startup.append(replay_held_stop_signals)
    return app


def hold_stop_signals() -> None:
    """Keep SIGTERM and SIGINT for later instead of handing them to the handler inherited from the master."""
    for signum in _STOP_SIGNALS:
        signal.signal(signum, lambda received, _frame: _held.append(received))


def replay_held_stop_signals() -> None:
    """Send this process the first stop signal it held, now that its own handlers are installed."""
    if _held:
        os.kill(os.getpid(), _held[0])


def stop_when_parent_dies(parent_pid: int, poll_seconds: float = 0.5) -> None:
    """End this process when ``parent_pid`` (its parent) exits; exit at once if it already has."""
    if not _ask_kernel_to_kill_on_parent_death():
        threading.Thread(
            target=_watch_parent, args=(parent_pid, poll_seconds), name="parent-watch", daemon=True
        ).start()
    # Checked after arming: a parent that died before that would never trigger the kill.
    if os.getppid() != parent_pid:
        sys.exit("tenant-service: serve exited before this worker started")


def _ask_kernel_to_kill_on_parent_death() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0


def _watch_parent(parent_pid: int, poll_seconds: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    os._exit(1)
