"""Contract section "Resolution": the hot path other services call on every message.

These handlers take the request and read the resolver and the caller from it instead of declaring two
dependencies (see :func:`~entrypoints.http.dependencies.services_of`); behaviour is identical.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath

from entrypoints.http.dependencies import principal_of, services_of
from entrypoints.http.schemas import ResolvedTenant

AnyRequest = Request[Any, Any, Any]


class ResolutionController(Controller):
    tags = ["Resolution"]

    @get("/by-phone/{phone_number_id:str}", summary="Resolve a tenant by WhatsApp phone number id")
    async def by_phone(self, request: AnyRequest, phone_number_id: FromPath[str]) -> ResolvedTenant:
        resolver = services_of(request).resolver
        return ResolvedTenant.of(await resolver.by_phone(principal_of(request), phone_number_id))

    @get("/by-integration/{integration_id:str}", summary="Resolve a tenant by Genesys integration id")
    async def by_integration(self, request: AnyRequest, integration_id: FromPath[str]) -> ResolvedTenant:
        resolver = services_of(request).resolver
        return ResolvedTenant.of(await resolver.by_integration(principal_of(request), integration_id))

    @get("/by-genesys-org/{genesys_org_id:str}", summary="Resolve a tenant by Genesys org id")
    async def by_genesys_org(self, request: AnyRequest, genesys_org_id: FromPath[str]) -> ResolvedTenant:
        resolver = services_of(request).resolver
        return ResolvedTenant.of(await resolver.by_genesys_org(principal_of(request), genesys_org_id))
