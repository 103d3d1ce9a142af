"""Reading a tenant's audit log."""

from __future__ import annotations

from tenant_core.entities import AuditPage
from tenant_core.errors import NotFoundError
from tenant_core.lookup_cache import TenantDirectory
from tenant_core.paging import audit_position, encode_cursor, page_window
from tenant_core.ports import Storage
from tenant_core.security import Permission, Principal


class AuditTrail:
    """Reads a tenant's audit log (admins and the tenant itself), also after the tenant is deleted."""

    def __init__(self, storage: Storage, directory: TenantDirectory) -> None:
        self._storage = storage
        self._directory = directory

    async def list(
        self, principal: Principal, tenant_id: str, limit: int = 20, offset: int = 0, after: str | None = None
    ) -> AuditPage:
        """Newest first, by ``offset`` or by the cursor ``after`` (the previous page's ``next``). The log
        outlives a deleted tenant, so admins can still read it after a DELETE."""
        principal.require(Permission.AUDIT_READ, tenant_id)
        limit, offset = page_window(limit, offset, after)
        before = audit_position(after) if after is not None else None
        events, total = await self._storage.audit.list_for_tenant(tenant_id, limit, offset, before)
        if total == 0 and await self._directory.any(tenant_id) is None:  # every status: the log outlives a delete
            raise NotFoundError(f"Tenant {tenant_id} not found")
        following = encode_cursor(events[-1].id) if len(events) == limit and events[-1].id is not None else None
        return AuditPage(events=events, total=total, limit=limit, offset=offset, next=following)
