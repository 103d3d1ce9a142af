"""Genesys provisioning: the tenant of a Genesys organisation, created on first sight."""

from __future__ import annotations

from collections.abc import Callable

from tenant_core.audit import AuditAction, record
from tenant_core.commands import ProvisionGenesys
from tenant_core.entities import GENESYS_ORG, Provisioned, new_tenant
from tenant_core.lookup_cache import TenantCache
from tenant_core.ports import Clock, Storage
from tenant_core.security import Permission, Principal
from tenant_core.use_cases.tenants import new_tenant_id
from tenant_core.validation import validated


class GenesysProvisioning:
    """Get-or-create a tenant by Genesys organization id (one tenant per org, even under races)."""

    def __init__(
        self, storage: Storage, cache: TenantCache, clock: Clock, new_id: Callable[[], str] = new_tenant_id
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._clock = clock
        self._new_id = new_id

    async def provision(self, principal: Principal, command: ProvisionGenesys) -> Provisioned:
        """Get-or-create by ``genesysOrgId``; concurrent calls for one org create exactly one tenant."""
        principal.require(Permission.TENANTS_PROVISION)
        command = validated(command)
        existing = await self._storage.tenants.get_by(GENESYS_ORG, command.genesys_org_id)
        if existing is not None:  # the common case, without a write
            return Provisioned(tenant=existing, is_new=False)
        candidate = new_tenant(
            id=self._new_id(),
            name=command.genesys_org_name,
            now=self._clock.now(),
            genesys_org_id=command.genesys_org_id,
            genesys_org_name=command.genesys_org_name,
            genesys_region=command.genesys_region,
        )
        stale: list[str] = []
        async with self._storage.unit_of_work() as uow:
            result = await uow.tenants.add_or_get_by_genesys_org(candidate)
            if result.is_new:
                fields = ["genesysOrgId", "genesysOrgName", "genesysRegion", "name"]
                action = AuditAction.TENANT_PROVISIONED
                await record(uow, self._clock, principal, action, result.tenant.id, fields, after=result.tenant)
                stale = self._cache.announce_tenants(uow, result.tenant)
        await self._cache.forget_keys(stale)
        return result
