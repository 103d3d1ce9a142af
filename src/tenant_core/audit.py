"""What the audit log records, in one place."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from tenant_core import context
from tenant_core.change_events import events_for
from tenant_core.entities import AuditEvent, Tenant
from tenant_core.ports import Clock, UnitOfWork
from tenant_core.security import Principal


class AuditAction(enum.StrEnum):
    """What an audit row records; each action publishes its change events (``change_events.events_for``)."""

    TENANT_CREATED = "tenant.created"
    TENANT_UPDATED = "tenant.updated"
    TENANT_PROVISIONED = "tenant.provisioned"
    TENANT_ONBOARDING_COMPLETED = "tenant.onboarding_completed"
    TENANT_DELETED = "tenant.deleted"
    TENANT_IMPORTED = "tenant.imported"
    CREDENTIALS_STORED = "credentials.stored"
    CREDENTIALS_REVEALED = "credentials.revealed"
    CREDENTIALS_DELETED = "credentials.deleted"
    WHATSAPP_SIGNUP_COMPLETED = "whatsapp.signup_completed"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    # What a connection check told subscribers (see tenant_core.connection_news); the actor is who checked.
    CONNECTION_FAILED = "connection.failed"
    CONNECTION_RECOVERED = "connection.recovered"
    WHATSAPP_TOKEN_EXPIRING = "whatsapp.token_expiring"


async def record(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    action: AuditAction,
    tenant_id: str,
    changes: Iterable[str] = (),
    *,
    before: Tenant | None = None,
    after: Tenant | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Write the audit row and the change events inside ``uow``, so they exist exactly when the change they
    describe committed. ``before``/``after`` are the tenant around the change; ``detail`` names what else
    changed (a credential type, an API key) for :func:`~tenant_core.change_events.events_for`."""
    now = clock.now()
    changes = sorted(changes)
    await uow.audit.record(
        AuditEvent(
            at=now,
            actor=principal.subject,
            action=action.value,
            tenant_id=tenant_id,
            changes=changes,
            request_id=context.request_id.get(),
        )
    )
    for event in events_for(action.value, tenant_id, now, changes=changes, before=before, after=after, detail=detail):
        await uow.events.append(event)
