"""In-memory credential store (sealed records, like the real one)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import msgspec

from tenant_adapters.memory.state import StateView
from tenant_core.connections import ConnectionStatus
from tenant_core.credential_types import SealedCredentials
from tenant_core.entities import TenantStatus


class InMemoryCredentialStore(StateView):
    async def put(self, sealed: SealedCredentials) -> None:
        self._state.credentials[(sealed.tenant_id, str(sealed.type))] = sealed

    async def get(self, tenant_id: str, kind: str) -> SealedCredentials | None:
        return self._state.credentials.get((tenant_id, str(kind)))

    async def remove(self, tenant_id: str, kind: str) -> bool:
        return self._state.credentials.pop((tenant_id, str(kind)), None) is not None

    async def record_status(self, tenant_id: str, kind: str, updated_at: datetime, status: ConnectionStatus) -> bool:
        slot = (tenant_id, str(kind))
        current = self._state.credentials.get(slot)
        if current is None or current.updated_at != updated_at:
            return False
        self._state.credentials[slot] = msgspec.structs.replace(current, status=status)
        return True

    async def due_for_check(self, checked_by: datetime, kinds: Collection[str], limit: int) -> list[tuple[str, str]]:
        wanted = {str(kind) for kind in kinds}
        due = []
        for (tenant_id, kind), sealed in self._state.credentials.items():
            tenant = self._state.tenants.get(tenant_id)
            if kind not in wanted or tenant is None or tenant.status is TenantStatus.DELETED:
                continue
            checked = last_checked(sealed)
            if checked is None or checked <= checked_by:
                due.append((checked is not None, checked or checked_by, tenant_id, kind))
        due.sort()  # never checked first, then the least recently checked; ties by tenant id and type
        return [(tenant_id, kind) for _, _, tenant_id, kind in due[:limit]]


def last_checked(sealed: SealedCredentials) -> datetime | None:
    """When the credential's last check ran, if one did."""
    return None if sealed.status is None or sealed.status.last_check is None else sealed.status.last_check.checked_at
