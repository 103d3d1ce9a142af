"""Contract section "Resolution": the hot path other services call on every message."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from entrypoints.http.schemas import ResolvedTenant
from tenant_core import Principal, TenantResolver


class ResolutionController(Controller):
    tags = ["Resolution"]

    @get("/by-phone/{phone_number_id:str}", summary="Resolve a tenant by WhatsApp phone number id")
    async def by_phone(
        self,
        phone_number_id: FromPath[str],
        resolver: NamedDependency[TenantResolver],
        principal: NamedDependency[Principal],
    ) -> ResolvedTenant:
        return ResolvedTenant.of(await resolver.by_phone(principal, phone_number_id))

    @get("/by-integration/{integration_id:str}", summary="Resolve a tenant by Genesys integration id")
    async def by_integration(
        self,
        integration_id: FromPath[str],
        resolver: NamedDependency[TenantResolver],
        principal: NamedDependency[Principal],
    ) -> ResolvedTenant:
        return ResolvedTenant.of(await resolver.by_integration(principal, integration_id))

    @get("/by-genesys-org/{genesys_org_id:str}", summary="Resolve a tenant by Genesys org id")
    async def by_genesys_org(
        self,
        genesys_org_id: FromPath[str],
        resolver: NamedDependency[TenantResolver],
        principal: NamedDependency[Principal],
    ) -> ResolvedTenant:
        return ResolvedTenant.of(await resolver.by_genesys_org(principal, genesys_org_id))
