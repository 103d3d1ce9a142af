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
    "tenant_adapters",
    "tenant_entrypoints",
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


# Public classes of the core that are deliberately not part of the surface: internals of one use case.
NOT_EXPORTED = {
    "Also", "CredentialsRead", "IdempotencyRecord", "ImportLine", "ImportReport", "KeyProblem", "KindRotation",
    "LegacyApiKeyRow",
    "LegacyCredentialRow", "LegacyTenantRow", "MaskedCredentials", "MetaCredentials", "Outcome", "ReadThrough",
    "RotationReport", "SignupResult", "StoreOutcome", "TenantWriter", "VerifiedState", "AuditAction",
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


def test_every_core_error_has_a_status():
    """A core error that reached the HTTP layer unmapped would be a crash in the error handler."""
    from tenant_entrypoints.http.errors import CORE_ERRORS

    for name in tenant_core.__all__:
        value = getattr(tenant_core, name)
        if isinstance(value, type) and issubclass(value, tenant_core.TenantServiceError):
            assert any(cls in CORE_ERRORS for cls in value.__mro__), name
