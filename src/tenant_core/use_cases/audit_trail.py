"""Reading a tenant's audit log."""

from __future__ import annotations

from tenant_core.entities import AuditPage
from tenant_core.errors import NotFoundError
from tenant_core.paging import page_window
from tenant_core.ports import Storage
from tenant_core.security import Permission, Principal


class AuditTrail:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def list(self, principal: Principal, tenant_id: str, limit: int = 20, offset: int = 0) -> AuditPage:
        """Newest first. The log outlives a deleted tenant, so admins can still read it after a DELETE."""
        principal.require(Permission.AUDIT_READ, tenant_id)
        limit, offset = page_window(limit, offset)
        events, total = await self._storage.audit.list_for_tenant(tenant_id, limit, offset)
        if total == 0 and await self._storage.tenants.get(tenant_id) is None:
            raise NotFoundError(f"Tenant {tenant_id} not found")
        return AuditPage(events=events, total=total, limit=limit, offset=offset)
