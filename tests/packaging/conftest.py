"""The wheel as users install it: built once per test session from this checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``pip wheel`` of the project alone (no dependencies), in an isolated build as pip does for users."""
    out = tmp_path_factory.mktemp("wheel")
    source = _tracked_files(tmp_path_factory.mktemp("source"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("tenant_service-*.whl")
    yield built


def _tracked_files(into: Path) -> Path:
    """A copy of the files git tracks (with their uncommitted edits), as a clean checkout has them: a local
    ``build/`` left by an earlier build would otherwise put files deleted since then into the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into
