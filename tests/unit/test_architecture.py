"""The shape of the package: the dependency rule and the curated public surface.

Each rule is a function that returns what breaks it, so the tests can also show it catching a planted
violation (an architecture test that cannot fail protects nothing).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import tenant_core

CORE = Path(tenant_core.__file__).parent
#: What the core may import besides the standard library: msgspec, and itself.
CORE_MAY_IMPORT = frozenset({"msgspec", "tenant_core"})


def foreign_imports(package: Path, allowed: frozenset[str] = CORE_MAY_IMPORT) -> list[str]:
    """``file:line module`` for every import in ``package`` of a module that is neither standard library nor
    ``allowed``: every import statement, including those inside functions that only run later."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in allowed:
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno} {name}")
    return found


def test_core_imports_only_stdlib_and_msgspec():
    """Every import statement in the core names the standard library, msgspec or the core (an allow-list)."""
    assert foreign_imports(CORE) == []


def test_core_import_rule_catches_a_planted_import(tmp_path: Path):
    """The rule reports a third-party import, even one hidden inside a function."""
    planted = tmp_path / "tenant_core"
    planted.mkdir()
    (planted / "ok.py").write_text("import asyncio\nimport msgspec\nfrom tenant_core.errors import NotFoundError\n")
    (planted / "bad.py").write_text("def later():\n    import jwt\n    from aio_pika import connect\n")
    assert foreign_imports(planted) == ["tenant_core/bad.py:2 jwt", "tenant_core/bad.py:3 aio_pika"]


#: Prints the modules that importing every core module loads beyond what msgspec loads, except those of the
#: standard library (by where they live: a few, such as ``_sysconfigdata_*``, are not in stdlib_module_names).
_LOADED_BY_CORE = """
import sys, json, pkgutil, importlib, sysconfig, msgspec, msgspec.json, msgspec.structs
before, stdlib = set(sys.modules), sysconfig.get_paths()["stdlib"]
import tenant_core
for m in pkgutil.walk_packages(tenant_core.__path__, "tenant_core."): importlib.import_module(m.name)
new = {n: getattr(sys.modules[n], "__file__", None) or "" for n in set(sys.modules) - before}
print(json.dumps(sorted({n.split(".")[0] for n, f in new.items() if f and not f.startswith(stdlib)})))
"""


def test_importing_the_core_loads_no_third_party_module():
    """Importing every core module in a clean interpreter loads nothing but the standard library, msgspec and
    the core itself."""
    run = subprocess.run([sys.executable, "-c", _LOADED_BY_CORE], check=True, capture_output=True, text=True)
    assert set(json.loads(run.stdout)) <= {"tenant_core"}


def test_public_surface_is_sorted_and_importable():
    assert tenant_core.__all__ == sorted(tenant_core.__all__)
    for name in tenant_core.__all__:
        assert getattr(tenant_core, name) is not None


# Public classes of the core that are deliberately not part of the surface: internals of one use case.
NOT_EXPORTED = {
    "Also", "CredentialsRead", "IdempotencyRecord", "ImportLine", "ImportReport", "ItemKind", "KeyProblem",
    "KindRotation", "LegacyApiKeyRow", "LegacyPlan",
    "LegacyCredentialRow", "LegacyTenantRow", "MaskedCredentials", "MetaCredentials", "Outcome", "ReadThrough",
    "RotationReport", "SignupResult", "StoreOutcome", "TenantWriter", "VerifiedState", "AuditAction", "Announcement",
}  # fmt: skip


def test_public_surface_is_complete():
    """Every public error, port, entity, command and use case of the core is exported (the way httpx checks)."""
    import importlib
    import inspect
    import pkgutil

    defined = set()
    for module in pkgutil.walk_packages(tenant_core.__path__, "tenant_core."):
        for name, value in vars(importlib.import_module(module.name)).items():
            if inspect.isclass(value) and value.__module__ == module.name and not name.startswith("_"):
                defined.add(name)
    missing = defined - set(tenant_core.__all__) - NOT_EXPORTED
    assert not missing, f"export these from tenant_core (or list them in NOT_EXPORTED): {sorted(missing)}"


def core_error_classes() -> list[type[tenant_core.TenantServiceError]]:
    """Every error class the core defines below the catch-all, exported or not."""
    import importlib
    import inspect
    import pkgutil

    found = {}
    for module in pkgutil.walk_packages(tenant_core.__path__, "tenant_core."):
        for value in vars(importlib.import_module(module.name)).values():
            if inspect.isclass(value) and issubclass(value, tenant_core.TenantServiceError):
                found[value.__qualname__] = value
    return [cls for cls in found.values() if cls is not tenant_core.TenantServiceError]


def unmapped(errors: list[type[Exception]], mapping: dict[type, tuple[int, str]]) -> list[str]:
    """Errors whose status would come only from the catch-all ``TenantServiceError`` row (a 500)."""
    catch_all = tenant_core.TenantServiceError
    return [e.__name__ for e in errors if not any(c in mapping for c in e.__mro__ if c is not catch_all)]


def test_every_core_error_has_a_status():
    """Each core error maps to its own status and code, not through the catch-all."""
    from tenant_entrypoints.http.errors import CORE_ERRORS

    assert len(core_error_classes()) >= 18
    assert unmapped(core_error_classes(), CORE_ERRORS) == []


def test_error_rule_catches_a_planted_error():
    """A new error class nobody mapped is reported; one below a mapped error inherits its row."""
    from tenant_entrypoints.http.errors import CORE_ERRORS

    class PlantedError(tenant_core.TenantServiceError):
        pass

    class NarrowerNotFoundError(tenant_core.NotFoundError):
        pass

    assert unmapped([PlantedError, NarrowerNotFoundError], CORE_ERRORS) == ["PlantedError"]


def test_the_error_tree_in_the_docstring_names_every_error():
    """The drawing in ``tenant_core.errors`` is the map in-process callers read: it shows every class."""
    from tenant_core import errors

    assert [cls.__name__ for cls in core_error_classes() if cls.__name__ not in (errors.__doc__ or "")] == []
