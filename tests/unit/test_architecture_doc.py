"""docs/architecture.md says where each rule lives: every file it names exists, and so does every name it
points to in that file. (Whether the rule really lives only there is for reviewers; this keeps the map from
pointing at places that are gone.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"

#: A file named in backticks, then optionally its names in parentheses: `path.py` (`Name`, `Other.method`).
_PLACE = re.compile(r"`([\w/.]+\.(?:py|sql))`(?:\s*\(([^)]*)\))?")


def _file(named: str) -> Path:
    """Paths are written from src/ for code (tenant_core/…, adapters/…, entrypoints/…) and from the root
    otherwise (migrations/…, tests/…)."""
    return ROOT / "src" / named if (ROOT / "src" / named.split("/")[0]).is_dir() else ROOT / named


def missing_places(text: str) -> list[str]:
    missing = []
    for path, names in _PLACE.findall(text):
        file = _file(path)
        if not file.is_file():
            missing.append(path)
            continue
        source = file.read_text()
        for name in re.findall(r"`([\w.]+)`", names or ""):
            if not all(part in source for part in name.split(".")):
                missing.append(f"{path}: {name}")
    return missing


def test_every_place_in_the_architecture_doc_exists():
    text = DOC.read_text()
    assert len(_PLACE.findall(text)) >= 25
    assert missing_places(text) == []


def test_the_check_reports_a_moved_file_and_a_renamed_function():
    text = "| x | `tenant_core/gone.py` | | y | `tenant_core/paging.py` (`no_such_helper`) |"
    assert missing_places(text) == ["tenant_core/gone.py", "tenant_core/paging.py: no_such_helper"]
