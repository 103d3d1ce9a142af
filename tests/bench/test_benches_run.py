"""The benches still run against today's code: a tiny run of each, so a refactor cannot leave one broken.

Nothing here measures anything; the numbers come from full runs (see the README's Performance section).
``bench/run.py`` needs wrk and minutes of load, so it is left to its own runs.
"""

from __future__ import annotations

import subprocess
import sys

from tests.packaging.conftest import ROOT


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_invalidation_bench_runs():
    out = _run("invalidations.py", "--rounds", "1", "--seconds", "0.2")
    assert "ratio median" in out and "heard by 1 followers" in out


def test_the_event_bench_runs_and_times_every_delivery():
    out = _run("events.py", "--rounds", "1", "--seconds", "0.2", "--deliveries", "5")
    assert "ratio median" in out
    assert out.count("over 5/5 renames") == 2  # every rename delivered, under light load and under writers
