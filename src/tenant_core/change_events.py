"""What changed, told to other services: the events a committed change writes in its own transaction.

Every change already writes its audit row through :func:`tenant_core.audit.record` inside its unit of
work; the same call appends the events derived here, so an event exists exactly when its change
committed. The table below is the whole catalogue: one audit action gives its own event, plus
``tenant.routing_changed`` whenever a lookup key (phone number id, integration id, org id) of the tenant
moved, because that is what other services' caches depend on.

Events are CloudEvents 1.0. ``data`` never holds a secret: the tenant's own fields (none is secret), the
names of the changed fields, and for credentials only their type.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from tenant_core.entities import Tenant, TenantStatus, wire_name

#: CloudEvents ``source`` of every event this service writes.
EVENT_SOURCE = "/tenant-service"

#: Tenant fields other services route by (Python names).
ROUTING_FIELDS = ("phone_number_id", "genesys_integration_id", "genesys_org_id")


class EventType(enum.StrEnum):
    TENANT_CREATED = "tenant.created"
    TENANT_UPDATED = "tenant.updated"
    TENANT_SUSPENDED = "tenant.suspended"
    TENANT_REACTIVATED = "tenant.reactivated"
    TENANT_DELETED = "tenant.deleted"
    TENANT_ONBOARDING_COMPLETED = "tenant.onboarding_completed"
    TENANT_ROUTING_CHANGED = "tenant.routing_changed"
    CREDENTIALS_UPDATED = "credentials.updated"
    CREDENTIALS_DELETED = "credentials.deleted"
    WHATSAPP_CONNECTED = "whatsapp.connected"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"


class ChangeEvent(msgspec.Struct, frozen=True):
    """One event. ``position`` is its place in the feed, given when it is stored: the feed's cursor."""

    id: str
    type: str
    subject: str  # the tenant id
    time: datetime
    data: dict[str, Any]
    position: int | None = None

    def cloud_event(self) -> dict[str, Any]:
        """The CloudEvents 1.0 JSON form (structured mode); ``sequence`` is the feed position."""
        event: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.id,
            "source": EVENT_SOURCE,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": self.data,
        }
        if self.position is not None:
            event["sequence"] = str(self.position)
        return event


def events_for(
    action: str,
    tenant_id: str,
    now: datetime,
    *,
    changes: Iterable[str] = (),
    before: Tenant | None = None,
    after: Tenant | None = None,
    detail: Mapping[str, Any] | None = None,
) -> list[ChangeEvent]:
    """The events an audit ``action`` on ``tenant_id`` publishes (none for reads such as a reveal)."""
    changed = sorted(changes)
    tenant = after or before
    about_tenant: dict[str, Any] = {"tenant": msgspec.to_builtins(tenant)} if tenant is not None else {}
    detail = dict(detail or {})
    primary: list[tuple[EventType, dict[str, Any]]] = []
    match action:
        case "tenant.created" | "tenant.provisioned":
            primary.append((EventType.TENANT_CREATED, {**about_tenant, "changedFields": changed}))
        case "tenant.imported":  # a rerun that suspends or reactivates says so, as an update would
            kind = _update_type(before, after) if before is not None else EventType.TENANT_CREATED
            primary.append((kind, {**about_tenant, "changedFields": changed}))
        case "tenant.updated":
            primary.append((_update_type(before, after), {**about_tenant, "changedFields": changed}))
        case "tenant.onboarding_completed":
            primary.append((EventType.TENANT_ONBOARDING_COMPLETED, {**about_tenant, "changedFields": changed}))
        case "tenant.deleted":
            primary.append((EventType.TENANT_DELETED, about_tenant))
        case "credentials.stored":
            primary.append((EventType.CREDENTIALS_UPDATED, _credential_type(detail)))
        case "credentials.deleted":
            primary.append((EventType.CREDENTIALS_DELETED, _credential_type(detail)))
        case "whatsapp.signup_completed":
            primary.append((EventType.WHATSAPP_CONNECTED, {**about_tenant, "changedFields": changed}))
            primary.append((EventType.CREDENTIALS_UPDATED, _credential_type(detail)))
        case "api_key.created":
            primary.append((EventType.API_KEY_CREATED, detail))
        case "api_key.revoked":
            primary.append((EventType.API_KEY_REVOKED, detail))
        case _:
            return []  # reads (credentials.revealed) change nothing
    old, new = _routing(before), _routing(after)
    if old != new:
        routing = {**about_tenant, "previous": old, "current": new}
        primary.append((EventType.TENANT_ROUTING_CHANGED, routing))
    return [ChangeEvent(_new_id(), kind.value, tenant_id, now, data) for kind, data in primary]


def _update_type(before: Tenant | None, after: Tenant | None) -> EventType:
    if before is not None and after is not None and before.status is not after.status:
        if after.status is TenantStatus.SUSPENDED:
            return EventType.TENANT_SUSPENDED
        if after.status is TenantStatus.ACTIVE:
            return EventType.TENANT_REACTIVATED
    return EventType.TENANT_UPDATED


def _credential_type(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {"credentialType": detail["credentialType"]}


def _routing(tenant: Tenant | None) -> dict[str, str | None]:
    """The keys that route to ``tenant`` (wire names); a deleted or absent tenant holds none."""
    live = tenant is not None and tenant.status is not TenantStatus.DELETED
    return {wire_name(f): (getattr(tenant, f) if live else None) for f in ROUTING_FIELDS}


def _new_id() -> str:
    return str(uuid.uuid4())
