"""The wheel installs only import names of this project's own, so it can sit beside any other package."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.packaging.conftest import ROOT

#: Top-level names that widely installed PyPI distributions already use: `entrypoints` (one of the most
#: downloaded packages), AdapterHub's `adapters`, and other generic names a project might be tempted by.
TAKEN_ON_PYPI = {"adapters", "entrypoints", "core", "app", "src", "tests", "migrations", "bench", "common", "utils"}

#: Folder under src/ -> the name it installs as.
INSTALLED_AS = {"tenant_core": "tenant_core", "adapters": "tenant_adapters", "entrypoints": "tenant_entrypoints"}


def _top_level_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = {name.split("/", 1)[0] for name in archive.namelist()}
    return {name for name in names if not name.endswith((".dist-info", ".data"))}


def test_wheel_installs_only_names_of_its_own(wheel: Path):
    """No top-level import name of the wheel is one that another distribution installs."""
    installed = _top_level_names(wheel)
    assert installed == set(INSTALLED_AS.values())
    assert not installed & TAKEN_ON_PYPI


def test_wheel_carries_every_source_package(wheel: Path):
    """Every package folder under src/ is in the wheel, under its installed name (a subpackage missing from
    pyproject's explicit list would otherwise vanish from the wheel only)."""
    expected = set()
    for init in (ROOT / "src").rglob("__init__.py"):
        folder, *rest = init.parent.relative_to(ROOT / "src").parts
        expected.add("/".join([INSTALLED_AS[folder], *rest, "__init__.py"]))
    with zipfile.ZipFile(wheel) as archive:
        missing = expected - set(archive.namelist())
    assert not missing, f"add these packages to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_wheel_carries_exactly_the_migrations_of_the_checkout(wheel: Path):
    """Every migration and its rollback, and nothing else: a migration missing would leave the schema behind, and
    one deleted from the checkout but shipped (from a stale build folder) would be applied."""
    expected = {f"tenant_adapters/migrations/{path.name}" for path in (ROOT / "migrations").glob("*.sql")}
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("tenant_adapters/migrations/")}
    assert {name for name in shipped if name.endswith(".sql")} == expected
