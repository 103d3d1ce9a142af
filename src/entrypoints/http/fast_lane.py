"""The resolution fast lane: cache-hot lookups answered before Litestar's routing and middleware.

Other services resolve a tenant on every message, and on that path Litestar's machinery (routing, the
middleware stack, signature parsing, response objects) costs more than the lookup itself. For a GET on a
resolution route (the table of :mod:`tenant_entrypoints.http.routes.resolution`) by a caller whose bearer token was
already verified (the shared credential parser) and who is not rate-limited (``RateLimitPolicy`` decides),
this lane asks the same :class:`~tenant_core.TenantResolver` for what its cache already holds and writes the
answer directly. It never waits on the database.

It only ever answers cache-hot successes. Anything else — no or unverified credentials, API keys, tenant
principals, browsers (CORS), a cache miss, a suspended or unknown tenant — falls through to the normal
route, which renders the outcome. ``FAST_LANE=false`` turns the lane off; the API tests check that both
lanes answer byte for byte alike.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec
from litestar.types import Scope, Send

from tenant_core import Principal, TenantServiceError
from tenant_entrypoints.http.auth import GATEWAY_PRINCIPAL, bearer_credential
from tenant_entrypoints.http.raw_response import send_json
from tenant_entrypoints.http.routes.resolution import RESOLUTION_ROUTES, route_template
from tenant_entrypoints.http.schemas import ResolvedTenant

if TYPE_CHECKING:
    from tenant_entrypoints.container import Services

_PATH = re.compile(rf"^(/api)?/tenants/by-({'|'.join(map(re.escape, RESOLUTION_ROUTES))})/([^/]+)$")
_encode = msgspec.json.Encoder().encode


#: What the lane served, for the access line: the route template and the caller (a plain tuple: a named
#: one costs a few tenths of a microsecond more per request on the path this lane exists for).
FastAnswer = tuple[str, Principal]


async def try_fast_lane(services: Services, scope: Scope, send: Send, header: tuple[bytes, bytes]) -> FastAnswer | None:
    """Answer the request if it qualifies; returns what it served, or ``None`` to fall through."""
    if scope["method"] != "GET" or (match := _PATH.match(scope["path"])) is None:
        return None
    principal = _known_caller(services, scope)
    if principal is None or services.rate_limits.applies_to(principal):
        return None
    _, lookup, value = match.groups()
    tenant = await services.resolver.cached(principal, lookup, value)
    if tenant is None:
        return None
    await send_json(send, 200, _encode(ResolvedTenant.of(tenant)), header)
    prefix = "/api" if match.group(1) else ""
    return f"{prefix}/tenants{route_template(lookup)}", principal


def _known_caller(services: Services, scope: Scope) -> Principal | None:
    """The caller, if already verified; ``None`` sends the request the normal way (so do browsers: CORS,
    API keys, and anything the shared credential parser refuses)."""
    for name, _ in scope["headers"]:
        if name in (b"origin", b"x-api-key"):
            return None
    if services.auth_disabled:
        return GATEWAY_PRINCIPAL
    try:
        credential = bearer_credential(scope)
    except TenantServiceError:
        return None
    return None if credential is None else services.authenticator.already_verified(credential)
