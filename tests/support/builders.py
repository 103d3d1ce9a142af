"""Builders of valid test data, overridable field by field."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from tenant_core import CreateTenant
from tenant_core.entities import Tenant, new_tenant
from tenant_core.use_cases import new_tenant_id

_counter = itertools.count(1)
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def tenant(**fields: Any) -> Tenant:
    """A valid Tenant entity; each call is newer than the previous one."""
    n = next(_counter)
    values: dict[str, Any] = {"name": f"Tenant {n}", "email": f"admin{n}@example{n}.com"}
    values.update(fields)
    now = values.pop("now", _EPOCH + timedelta(seconds=n))
    return new_tenant(id=values.pop("id", new_tenant_id()), now=now, **values)


def create_command(**fields: Any) -> CreateTenant:
    n = next(_counter)
    values: dict[str, Any] = {"name": f"Tenant {n}", "email": f"admin{n}@example{n}.com"}
    values.update(fields)
    return CreateTenant(**values)


def create_body(**fields: Any) -> dict[str, Any]:
    n = next(_counter)
    return {"name": f"Tenant {n}", "email": f"admin{n}@example{n}.com", **fields}
