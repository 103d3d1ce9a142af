"""Contract section "Resolution": the hot path other services call on every message.

:data:`RESOLUTION_ROUTES` is the one table of these routes; the fast lane matches requests against it too.
The handlers take the request and read the resolver and the caller from it instead of declaring two
dependencies (see :func:`~tenant_entrypoints.http.dependencies.services_of`); behaviour is identical.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath

from tenant_core.entities import GENESYS_ORG, INTEGRATION, PHONE_NUMBER, ROUTING_KEYS
from tenant_entrypoints.http.dependencies import principal_of, services_of
from tenant_entrypoints.http.schemas import ResolvedTenant

AnyRequest = Request[Any, Any, Any]

#: Lookup name → the path parameter of its route, ``/by-<lookup>/{<parameter>}``: the core's routing keys.
RESOLUTION_ROUTES: dict[str, str] = {key.lookup: key.parameter for key in ROUTING_KEYS}


def route_template(lookup: str) -> str:
    """``/by-phone/{phone_number_id}``: the route below the ``/tenants`` prefix, as the access log names it."""
    return f"/by-{lookup}/{{{RESOLUTION_ROUTES[lookup]}}}"


def _path(lookup: str) -> str:
    return f"/by-{lookup}/{{{RESOLUTION_ROUTES[lookup]}:str}}"


async def _resolve(request: AnyRequest, lookup: str, value: str) -> ResolvedTenant:
    resolver = services_of(request).resolver
    return ResolvedTenant.of(await resolver.resolve(principal_of(request), lookup, value))


class ResolutionController(Controller):
    tags = ["Resolution"]

    # A handler's parameter must be named as the key's ``parameter``: Litestar refuses to start otherwise.
    @get(_path(PHONE_NUMBER.lookup), summary="Resolve a tenant by WhatsApp phone number id")
    async def by_phone(self, request: AnyRequest, phone_number_id: FromPath[str]) -> ResolvedTenant:
        return await _resolve(request, PHONE_NUMBER.lookup, phone_number_id)

    @get(_path(INTEGRATION.lookup), summary="Resolve a tenant by Genesys integration id")
    async def by_integration(self, request: AnyRequest, integration_id: FromPath[str]) -> ResolvedTenant:
        return await _resolve(request, INTEGRATION.lookup, integration_id)

    @get(_path(GENESYS_ORG.lookup), summary="Resolve a tenant by Genesys org id")
    async def by_genesys_org(self, request: AnyRequest, genesys_org_id: FromPath[str]) -> ResolvedTenant:
        return await _resolve(request, GENESYS_ORG.lookup, genesys_org_id)
