"""The shape of the package: the dependency rule and the curated public surface."""

from __future__ import annotations

import json
import subprocess
import sys

import tenant_core

FORBIDDEN = (
    "litestar",
    "asyncpg",
    "redis",
    "dependency_injector",
    "loguru",
    "granian",
    "httpx",
    "cryptography",
    "psycopg",
    "yoyo",
    "adapters",
    "entrypoints",
)


def test_core_imports_only_stdlib_and_msgspec():
    """Importing every core module in a clean interpreter loads no infrastructure package."""
    code = (
        "import json, sys, pkgutil, importlib, tenant_core\n"
        "for m in pkgutil.walk_packages(tenant_core.__path__, 'tenant_core.'): importlib.import_module(m.name)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    assert not [name for name in loaded if name in FORBIDDEN]


def test_public_surface_is_sorted_and_importable():
    assert tenant_core.__all__ == sorted(tenant_core.__all__)
    for name in tenant_core.__all__:
        assert getattr(tenant_core, name) is not None
