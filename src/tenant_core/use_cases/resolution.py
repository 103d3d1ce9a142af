"""The hot path: which tenant owns this phone number, integration or Genesys org?"""

from __future__ import annotations

from tenant_core.entities import Tenant, TenantStatus
from tenant_core.errors import NotFoundError, TenantLockedError
from tenant_core.lookup_cache import TenantCache, lookup_key
from tenant_core.ports import TenantRepository
from tenant_core.security import Permission, Principal


class TenantResolver:
    """Resolves active tenants. A suspended one raises :class:`TenantLockedError` (its traffic must stop);
    deleted or unknown ones are not found."""

    def __init__(self, tenants: TenantRepository, cache: TenantCache) -> None:
        self._tenants = tenants
        self._cache = cache

    async def by_phone(self, principal: Principal, phone_number_id: str) -> Tenant:
        principal.require(Permission.TENANTS_RESOLVE)
        key = lookup_key("phone", phone_number_id)
        return _found(await self._cache.get_or_load(key, lambda: self._tenants.get_by_phone(phone_number_id)))

    async def by_integration(self, principal: Principal, integration_id: str) -> Tenant:
        principal.require(Permission.TENANTS_RESOLVE)
        key = lookup_key("integration", integration_id)
        return _found(await self._cache.get_or_load(key, lambda: self._tenants.get_by_integration(integration_id)))

    async def by_genesys_org(self, principal: Principal, genesys_org_id: str) -> Tenant:
        principal.require(Permission.TENANTS_RESOLVE)
        key = lookup_key("genesys-org", genesys_org_id)
        return _found(await self._cache.get_or_load(key, lambda: self._tenants.get_by_genesys_org(genesys_org_id)))


def _found(tenant: Tenant | None) -> Tenant:
    if tenant is None:
        raise NotFoundError("No active tenant matches this identifier")
    if tenant.status is TenantStatus.SUSPENDED:
        raise TenantLockedError(tenant.id)
    return tenant
