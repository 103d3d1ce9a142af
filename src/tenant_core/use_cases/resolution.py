"""The hot path: which tenant owns this phone number, integration or Genesys org?"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tenant_core.commands import EXTERNAL_ID
from tenant_core.entities import LOOKUP_FIELDS, Tenant, TenantStatus, wire_name
from tenant_core.errors import NotFoundError, TenantLockedError, ValidationFailedError
from tenant_core.lookup_cache import TenantCache, lookup_key
from tenant_core.ports import TenantRepository
from tenant_core.security import Permission, Principal


class TenantResolver:
    """Resolves active tenants. A suspended one raises :class:`TenantLockedError` (its traffic must stop);
    deleted or unknown ones are not found. Lookups are named as in :data:`LOOKUP_FIELDS`."""

    def __init__(self, tenants: TenantRepository, cache: TenantCache) -> None:
        self._cache = cache
        self._loaders: dict[str, Callable[[str], Awaitable[Tenant | None]]] = {
            "phone": tenants.get_by_phone,
            "integration": tenants.get_by_integration,
            "genesys-org": tenants.get_by_genesys_org,
        }

    async def resolve(self, principal: Principal, lookup: str, value: str) -> Tenant:
        principal.require(Permission.TENANTS_RESOLVE)
        if not EXTERNAL_ID.match(value):  # no tenant can hold it; " org" or "org\n" is not "org"
            raise ValidationFailedError.for_field(
                wire_name(LOOKUP_FIELDS[lookup]), "is not an id (letters, digits and . _ : - only, no whitespace)"
            )
        load = self._loaders[lookup]
        return _found(await self._cache.get_or_load(lookup_key(lookup, value), lambda: load(value)))

    async def cached(self, principal: Principal, lookup: str, value: str) -> Tenant | None:
        """The active tenant the cache already holds for this lookup, or ``None``: never touches the store.

        For the fast lane, which must not wait on the database; ``None`` sends the caller the normal way.
        """
        if not principal.can(Permission.TENANTS_RESOLVE) or not EXTERNAL_ID.match(value):
            return None
        _, tenant = await self._cache.cached(lookup_key(lookup, value))
        return tenant if tenant is not None and tenant.status is TenantStatus.ACTIVE else None

    async def by_phone(self, principal: Principal, phone_number_id: str) -> Tenant:
        return await self.resolve(principal, "phone", phone_number_id)

    async def by_integration(self, principal: Principal, integration_id: str) -> Tenant:
        return await self.resolve(principal, "integration", integration_id)

    async def by_genesys_org(self, principal: Principal, genesys_org_id: str) -> Tenant:
        return await self.resolve(principal, "genesys-org", genesys_org_id)


def _found(tenant: Tenant | None) -> Tenant:
    if tenant is None:
        raise NotFoundError("No active tenant matches this identifier")
    if tenant.status is TenantStatus.SUSPENDED:
        raise TenantLockedError(tenant.id)
    return tenant
