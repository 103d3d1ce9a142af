"""Response bodies that are not core entities. Request bodies are the core's command Structs."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tenant_core.entities import Tenant


class Message(msgspec.Struct):
    message: str


class TenantCreated(msgspec.Struct, rename="camel"):
    """``apiKey`` is the tenant's first key, shown only here (``null`` when an Idempotency-Key replays)."""

    tenant: Tenant
    api_key: str | None
    message: str = "Tenant created successfully"


class TenantChanged(msgspec.Struct, rename="camel"):
    tenant: Tenant
    message: str


class ResolvedTenant(Tenant, frozen=True, rename="camel"):
    """A resolution answer: the Tenant object plus ``tenantId`` (equal to ``id``)."""

    tenant_id: str

    @classmethod
    def of(cls, tenant: Tenant) -> ResolvedTenant:
        return cls(*msgspec.structs.astuple(tenant), tenant_id=tenant.id)


class ProvisionResult(msgspec.Struct, rename="camel"):
    message: str
    tenant_id: str
    tenant_name: str
    is_new: bool
    onboarding_completed: bool


class Health(msgspec.Struct):
    status: str
    database: str
    redis: str
    timestamp: datetime


class Liveness(msgspec.Struct):
    status: str
