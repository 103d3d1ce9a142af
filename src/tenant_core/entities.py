"""Entities: immutable msgspec Structs whose encoded names are the wire names (camelCase).

The same Struct is the domain object, the cache payload and the HTTP body, so there is no mapper per layer.
"""

from __future__ import annotations

import enum
import functools
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import Meta


class TenantStatus(enum.StrEnum):
    """Lifecycle of a tenant; ``deleted`` is terminal."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class Plan(enum.StrEnum):
    """A tenant's commercial plan."""

    STANDARD = "standard"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"


class Settings(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """Per-tenant preferences; both optional. Validated by :mod:`tenant_core.validation`."""

    timezone: Annotated[str, Meta(max_length=64, description="IANA time zone name", examples=["UTC"])] | None = None
    language: (
        Annotated[
            str,
            Meta(
                pattern=r"^[a-z]{2,3}(-[A-Za-z]{4})?(-([A-Z]{2}|[0-9]{3}))?$", description="Language tag such as pt-BR"
            ),
        ]
        | None
    ) = None


class Tenant(msgspec.Struct, frozen=True, rename="camel"):
    """One organisation served by the platform."""

    id: str
    name: str
    email: str | None
    domain: str | None
    subdomain: str | None
    status: TenantStatus
    plan: Plan
    rate_limit: int
    phone_number_id: str | None
    genesys_integration_id: str | None
    genesys_org_id: str | None
    genesys_org_name: str | None
    genesys_region: str | None
    settings: Settings
    metadata: dict[str, Any]
    whatsapp_configured: bool
    onboarding_completed: bool
    version: int
    created_at: datetime
    updated_at: datetime


class RoutingKey(msgspec.Struct, frozen=True):
    """A tenant field other services route traffic by: unique among tenants not deleted, resolved on every
    message, cached under ``tenant:<lookup>:<value>`` and announced by ``tenant.routing_changed``."""

    lookup: str  # its name in lookups, cache keys and resolution routes (``/by-<lookup>/…``)
    field: str  # the Tenant field that holds it
    parameter: str  # what callers call the value (the resolution route's path parameter)


PHONE_NUMBER = RoutingKey("phone", "phone_number_id", "phone_number_id")
INTEGRATION = RoutingKey("integration", "genesys_integration_id", "integration_id")
GENESYS_ORG = RoutingKey("genesys-org", "genesys_org_id", "genesys_org_id")

#: The one table of routing keys. Credential policies name the ones their credentials bind.
ROUTING_KEYS: tuple[RoutingKey, ...] = (PHONE_NUMBER, INTEGRATION, GENESYS_ORG)


_BY_LOOKUP = {key.lookup: key for key in ROUTING_KEYS}


def routing_key(lookup: str) -> RoutingKey:
    """The routing key of this lookup name; an unknown name is a LookupError (a KeyError)."""
    return _BY_LOOKUP[lookup]


#: Fields that identify a tenant and must be unique (case-insensitively) among tenants not deleted.
UNIQUE_FIELDS: tuple[str, ...] = ("email", "domain", "subdomain", *(key.field for key in ROUTING_KEYS))


def is_live(tenant: Tenant | None) -> bool:
    """The existence rule: a tenant exists for everything that acts on it unless unknown or soft-deleted."""
    return tenant is not None and tenant.status is not TenantStatus.DELETED


class TenantPage(msgspec.Struct, frozen=True):
    """One page of a tenant listing and the total count matching the filters."""

    tenants: list[Tenant]
    total: int
    limit: int
    offset: int
    next: str | None = None  # the cursor of the following page (``?after=``), when there is one


class TenantQuery(msgspec.Struct, frozen=True):
    """Filters and window of a listing; ``status=None`` means every status but ``deleted``."""

    limit: int = 20
    offset: int = 0
    status: TenantStatus | None = None
    q: str | None = None
    after: tuple[datetime, str] | None = None  # keyset: rows strictly after this (createdAt, id), newest first


class Provisioned(msgspec.Struct, frozen=True):
    """Result of get-or-create by Genesys org id."""

    tenant: Tenant
    is_new: bool


@functools.cache  # a handful of field names, asked on every write
def wire_name(field: str) -> str:
    """The camelCase name a Tenant field has on the wire (``phone_number_id`` → ``phoneNumberId``)."""
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def new_tenant(*, id: str, name: str, now: datetime, **fields: Any) -> Tenant:
    """A fresh tenant at version 1: active, standard plan, 100 requests/minute unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "email": None,
        "domain": None,
        "subdomain": None,
        "status": TenantStatus.ACTIVE,
        "plan": Plan.STANDARD,
        "rate_limit": 100,
        "phone_number_id": None,
        "genesys_integration_id": None,
        "genesys_org_id": None,
        "genesys_org_name": None,
        "genesys_region": None,
        "settings": Settings(),
        "metadata": {},
        "whatsapp_configured": False,
        "onboarding_completed": False,
    }
    values.update(fields)
    return Tenant(id=id, name=name, version=1, created_at=now, updated_at=now, **values)


class ApiKey(msgspec.Struct, frozen=True, rename="camel"):
    """A tenant API key as stored: only a hash of the secret, and a short prefix to recognise it by.

    ``revoked_at`` is set only on the record a revoked key leaves behind, which authentication reads so that
    the log can say "revoked" rather than "unknown key"."""

    id: str
    tenant_id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class IssuedApiKey(msgspec.Struct, frozen=True):
    """A key just issued: the only moment its secret exists outside the caller's hands."""

    key: ApiKey
    secret: str


#: How long a create's ``Idempotency-Key`` is remembered: a repeat within it replays, after it is new.
IDEMPOTENCY_WINDOW = timedelta(hours=24)


class IdempotencyRecord(msgspec.Struct, frozen=True):
    """What a create with an ``Idempotency-Key`` produced, to answer a repeat as the first time.

    The first response's API key is kept sealed (``key_id`` names the cipher key), never in clear.
    """

    scope: str
    key: str
    fingerprint: str
    tenant_id: str
    created_at: datetime
    key_id: str | None = None
    sealed_api_key: bytes | None = None


class CreatedTenant(msgspec.Struct, frozen=True):
    """Result of a create: the tenant and its first API key (``None`` only if a replay cannot unseal it)."""

    tenant: Tenant
    api_key: str | None


class AuditEvent(msgspec.Struct, frozen=True, rename="camel"):
    """One recorded change or credential reveal. ``changes`` lists field names, never values."""

    at: datetime
    actor: str
    action: str
    tenant_id: str
    changes: list[str]
    request_id: str | None
    id: int | None = None  # its place in the log (set by the store): newer events have larger ids


class AuditPage(msgspec.Struct, frozen=True):
    """One page of a tenant's audit log, newest first, and the total count."""

    events: list[AuditEvent]
    total: int
    limit: int
    offset: int
    next: str | None = None  # the cursor of the following page (``?after=``), when there is one


class Admission(msgspec.Struct, frozen=True):
    """An admitted request's budget (a refused one raises RateLimitedError instead)."""

    limit: int
    remaining: int
    retry_after_seconds: int
