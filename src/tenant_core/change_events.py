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
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from tenant_core.entities import ROUTING_KEYS, Tenant, TenantStatus, is_live, wire_name
from tenant_core.errors import ValidationFailedError

#: CloudEvents ``source`` of every event this service writes.
EVENT_SOURCE = "/tenant-service"


class EventType(enum.StrEnum):
    """Every change event the service publishes (CloudEvents ``type``)."""

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
    CONNECTION_FAILED = "connection.failed"
    CONNECTION_RECOVERED = "connection.recovered"
    WHATSAPP_TOKEN_EXPIRING = "whatsapp.token_expiring"


def checked_event_types(names: Iterable[str], field: str) -> frozenset[str]:
    """``names`` as a set, each one an :class:`EventType`; else :class:`ValidationFailedError` on ``field``
    naming the first unknown one and listing the known. The feed's filter and webhook subscriptions both ask
    here."""
    wanted = frozenset(names)
    if unknown := wanted - set(EventType):
        known = ", ".join(EventType)
        raise ValidationFailedError.for_field(field, f"unknown event type {sorted(unknown)[0]!r}; known: {known}")
    return wanted


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


class _Change(msgspec.Struct, frozen=True):
    """What an audited change tells the event table: the tenant around it and what else changed."""

    before: Tenant | None
    after: Tenant | None
    changed: list[str]
    detail: dict[str, Any]

    @property
    def about_tenant(self) -> dict[str, Any]:
        tenant = self.after or self.before
        return {"tenant": msgspec.to_builtins(tenant)} if tenant is not None else {}

    @property
    def tenant_and_fields(self) -> dict[str, Any]:
        return {**self.about_tenant, "changedFields": self.changed}

    @property
    def credential_type(self) -> dict[str, Any]:
        return {"credentialType": self.detail["credentialType"]}


Publish = Callable[[_Change], list[tuple[EventType, dict[str, Any]]]]

#: The events each audit action publishes, before the ones every change may add (``tenant.updated`` when a
#: credential change moved tenant fields, ``tenant.routing_changed`` when a lookup key moved). Every audit
#: action has a row, reads included (they publish nothing on purpose): a new action without one is refused
#: by :func:`events_for`, and a test compares this table with ``AuditAction``.
PUBLISHES: dict[str, Publish] = {
    "tenant.created": lambda c: [(EventType.TENANT_CREATED, c.tenant_and_fields)],
    "tenant.provisioned": lambda c: [(EventType.TENANT_CREATED, c.tenant_and_fields)],
    # A rerun that suspends or reactivates says so, as an update would.
    "tenant.imported": lambda c: [
        (_update_type(c.before, c.after) if c.before is not None else EventType.TENANT_CREATED, c.tenant_and_fields)
    ],
    "tenant.updated": lambda c: [(_update_type(c.before, c.after), c.tenant_and_fields)],
    "tenant.onboarding_completed": lambda c: [(EventType.TENANT_ONBOARDING_COMPLETED, c.tenant_and_fields)],
    "tenant.deleted": lambda c: [(EventType.TENANT_DELETED, c.about_tenant)],
    "credentials.stored": lambda c: [(EventType.CREDENTIALS_UPDATED, c.credential_type)],
    "credentials.deleted": lambda c: [(EventType.CREDENTIALS_DELETED, c.credential_type)],
    "credentials.revealed": lambda c: [],  # a read changes nothing
    "whatsapp.signup_completed": lambda c: [
        (EventType.WHATSAPP_CONNECTED, c.tenant_and_fields),
        (EventType.CREDENTIALS_UPDATED, c.credential_type),
    ],
    "api_key.created": lambda c: [(EventType.API_KEY_CREATED, c.detail)],
    "api_key.revoked": lambda c: [(EventType.API_KEY_REVOKED, c.detail)],
    # A check's news: the detail is the event's data (tenant_core.connection_news builds it).
    "connection.failed": lambda c: [(EventType.CONNECTION_FAILED, c.detail)],
    "connection.recovered": lambda c: [(EventType.CONNECTION_RECOVERED, c.detail)],
    "whatsapp.token_expiring": lambda c: [(EventType.WHATSAPP_TOKEN_EXPIRING, c.detail)],
}

#: Tenant fields whose change is not news of its own: every change moves them.
_BOOKKEEPING_FIELDS = frozenset({"version", "updated_at"})


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
    """The events an audit ``action`` on ``tenant_id`` publishes (none for reads such as a reveal).

    Raises ``LookupError`` for an action with no row in :data:`PUBLISHES`: a change must never commit
    without its events having been decided."""
    if (publish := PUBLISHES.get(action)) is None:
        raise LookupError(f"No event decision for audit action {action!r}: add it to PUBLISHES")
    change = _Change(before, after, sorted(changes), dict(detail or {}))
    primary = publish(change)
    if (moved := _tenant_fields_moved(before, after)) and not any(k.value.startswith("tenant.") for k, _ in primary):
        # A credential change that flips whatsappConfigured or releases a number changed the tenant too.
        primary.append((EventType.TENANT_UPDATED, {**change.about_tenant, "changedFields": moved}))
    old, new = _routing(before), _routing(after)
    if old != new:
        routing = {**change.about_tenant, "previous": old, "current": new}
        primary.append((EventType.TENANT_ROUTING_CHANGED, routing))
    return [ChangeEvent(_new_id(), kind.value, tenant_id, now, data) for kind, data in primary]


def _tenant_fields_moved(before: Tenant | None, after: Tenant | None) -> list[str]:
    """Wire names of the tenant's fields that differ between two versions of it (none unless both exist)."""
    if before is None or after is None:
        return []
    names = (f for f in before.__struct_fields__ if f not in _BOOKKEEPING_FIELDS)
    return sorted(wire_name(f) for f in names if getattr(before, f) != getattr(after, f))


def _update_type(before: Tenant | None, after: Tenant | None) -> EventType:
    if before is not None and after is not None and before.status is not after.status:
        if after.status is TenantStatus.SUSPENDED:
            return EventType.TENANT_SUSPENDED
        if after.status is TenantStatus.ACTIVE:
            return EventType.TENANT_REACTIVATED
        if after.status is TenantStatus.DELETED:
            return EventType.TENANT_DELETED  # PATCH status=deleted: a soft delete is a delete to subscribers
    return EventType.TENANT_UPDATED


def _routing(tenant: Tenant | None) -> dict[str, str | None]:
    """The keys that route to ``tenant`` (wire names); a deleted or absent tenant holds none."""
    return {wire_name(key.field): getattr(tenant, key.field) if is_live(tenant) else None for key in ROUTING_KEYS}


def _new_id() -> str:
    return str(uuid.uuid4())
