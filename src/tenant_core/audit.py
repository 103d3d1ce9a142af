"""What the audit log records, in one place."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from tenant_core import context
from tenant_core.entities import AuditEvent
from tenant_core.ports import Clock, UnitOfWork
from tenant_core.security import Principal


class AuditAction(enum.StrEnum):
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


async def record(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    action: AuditAction,
    tenant_id: str,
    changes: Iterable[str] = (),
) -> None:
    """Write the event inside ``uow``, so it exists exactly when the change it describes committed."""
    await uow.audit.record(
        AuditEvent(
            at=clock.now(),
            actor=principal.subject,
            action=action.value,
            tenant_id=tenant_id,
            changes=sorted(changes),
            request_id=context.request_id.get(),
        )
    )
