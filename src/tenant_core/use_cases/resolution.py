"""The hot path: which tenant owns this phone number, integration or Genesys org?"""

from __future__ import annotations

from tenant_core.commands import EXTERNAL_ID
from tenant_core.entities import GENESYS_ORG, INTEGRATION, PHONE_NUMBER, Tenant, TenantStatus, routing_key, wire_name
from tenant_core.errors import NotFoundError, TenantLockedError, ValidationFailedError
from tenant_core.lookup_cache import TenantCache, lookup_key
from tenant_core.ports import TenantRepository
from tenant_core.security import Permission, Principal


class TenantResolver:
    """Resolves active tenants. A suspended one raises :class:`TenantLockedError` (its traffic must stop);
    deleted or unknown ones are not found. Lookups are named as in :data:`~tenant_core.entities.ROUTING_KEYS`."""

    def __init__(self, tenants: TenantRepository, cache: TenantCache) -> None:
        self._tenants = tenants
        self._cache = cache

    async def resolve(self, principal: Principal, lookup: str, value: str) -> Tenant:
        principal.require(Permission.TENANTS_RESOLVE)
        key = routing_key(lookup)
        if not EXTERNAL_ID.match(value):  # no tenant can hold it; " org" or "org\n" is not "org"
            raise ValidationFailedError.for_field(
                wire_name(key.field), "is not an id (letters, digits and . _ : - only, no whitespace)"
            )
        loaded = await self._cache.get_or_load(lookup_key(lookup, value), lambda: self._tenants.get_by(key, value))
        return _found(loaded)

    async def cached(self, principal: Principal, lookup: str, value: str) -> Tenant | None:
        """The active tenant the cache already holds for this lookup, or ``None``: never touches the store.

        For the fast lane, which must not wait on the database; ``None`` sends the caller the normal way.
        """
        if not principal.can(Permission.TENANTS_RESOLVE) or not EXTERNAL_ID.match(value):
            return None
        _, tenant = await self._cache.cached(lookup_key(lookup, value))
        return tenant if tenant is not None and tenant.status is TenantStatus.ACTIVE else None

    async def by_phone(self, principal: Principal, phone_number_id: str) -> Tenant:
        return await self.resolve(principal, PHONE_NUMBER.lookup, phone_number_id)

    async def by_integration(self, principal: Principal, integration_id: str) -> Tenant:
        return await self.resolve(principal, INTEGRATION.lookup, integration_id)

    async def by_genesys_org(self, principal: Principal, genesys_org_id: str) -> Tenant:
        return await self.resolve(principal, GENESYS_ORG.lookup, genesys_org_id)


def _found(tenant: Tenant | None) -> Tenant:
    if tenant is None:
        raise NotFoundError("No active tenant matches this identifier")
    if tenant.status is TenantStatus.SUSPENDED:
        raise TenantLockedError(tenant.id)
    return tenant
