"""What the platform's old tenant service stored, as read from its database, before any of our rules apply.

Every field is as loose as the old schema: most are nullable, nothing was validated, secrets are plain.
:class:`~tenant_core.use_cases.legacy_import.LegacyImport` decides what each value becomes here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Protocol

import msgspec


class LegacyTenantRow(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant row of the old service's database, as read; columns this service lacks are kept."""

    tenant_id: str
    name: str | None = None
    subdomain: str | None = None
    status: str | None = None
    plan: str | None = None
    rate_limit: int | None = None
    genesys_org_id: str | None = None
    genesys_org_name: str | None = None
    genesys_region: str | None = None
    onboarding_completed: bool | None = None
    whatsapp_configured: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    metadata: Any = None
    email: str | None = None
    domain: str | None = None
    phone_number_id: str | None = None
    genesys_integration_id: str | None = None
    settings: Any = None
    #: Columns this service has no field for (``onboarding_completed_at``, anything added later), by name.
    other_columns: dict[str, Any] = msgspec.field(default_factory=dict)


class LegacyCredentialRow(msgspec.Struct, frozen=True, kw_only=True):
    """A ``tenant_credentials`` row, or a ``tenant_whatsapp_config`` row turned into a WhatsApp credential."""

    source: str  # "tenant_credentials#12" or "tenant_whatsapp_config#3", for the report
    type: str
    credentials: Any
    is_active: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None


class LegacyApiKeyRow(msgspec.Struct, frozen=True, kw_only=True):
    """An API key row of the old service's database, as read (the import checks every field)."""

    api_key: str
    name: str | None = None
    is_active: bool | None = None
    created_at: datetime | None = None
    last_used: datetime | None = None


class LegacyTenant(msgspec.Struct, frozen=True, kw_only=True):
    """One old tenant with everything it owned."""

    row: LegacyTenantRow
    credentials: list[LegacyCredentialRow] = msgspec.field(default_factory=list)
    api_keys: list[LegacyApiKeyRow] = msgspec.field(default_factory=list)


class Seen(msgspec.Struct, frozen=True, rename="camel"):
    """What one old tenant became the last time it was imported: the base a rerun tells changes apart by.

    A value that differs from it in the old database changed there; one that differs from it here changed
    here. Credentials are kept as digests, never as values.
    """

    tenant: dict[str, Any]  # the tenant's fields as the import derived them (wire names; no id, version, times)
    credentials: dict[str, str]  # credential type -> digest of the credential it became
    api_keys: list[str]  # ids of the API keys it became


class ImportRecord(msgspec.Struct, frozen=True):
    """The import's bookkeeping of one old tenant. It outlives the tenant: a tenant deleted here since it was
    imported is not created again."""

    tenant_id: str
    source_digest: str  # of the old rows as last read: equal means nothing changed in the old database
    seen: Seen | None  # None: imported by a version that kept no record (every difference is then a conflict)
    recorded_at: datetime


class LegacySource(Protocol):
    """The old service's database, read-only."""

    async def count(self) -> int:
        """How many tenants there are to import."""
        ...

    def tenants(self) -> AsyncIterator[LegacyTenant]:
        """Every tenant with what it owns, oldest first (so the oldest keeps a contested unique value)."""
        ...
