"""The resolution fast lane: cache-hot lookups answered before Litestar's routing and middleware.

Other services resolve a tenant on every message, and on that path Litestar's machinery (routing, the
middleware stack, signature parsing, response objects) costs more than the lookup itself. For a GET on a
resolution route by a caller whose bearer token was already verified, and who is not rate-limited, this
lane calls the same :class:`~tenant_core.TenantResolver` use case and writes its answer directly.

It only ever answers successes. Anything else — no or unverified credentials, API keys, tenant principals
(rate-limited), browsers (CORS), a refusal, an unknown id, a failure — falls through to the normal route,
which re-runs the (read-only) lookup and renders the outcome. The API tests check that both lanes answer
byte for byte alike.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec
from litestar.types import Scope, Send

from entrypoints.http.auth import GATEWAY_PRINCIPAL, bearer_credential
from entrypoints.http.schemas import ResolvedTenant
from tenant_core import Principal, Role, Tenant, TenantResolver, TenantServiceError

if TYPE_CHECKING:
    from entrypoints.container import Services

_PATH = re.compile(r"^(/api)?/tenants/by-(phone|integration|genesys-org)/([^/]+)$")
_TEMPLATES = {
    "phone": "/tenants/by-phone/{phone_number_id}",
    "integration": "/tenants/by-integration/{integration_id}",
    "genesys-org": "/tenants/by-genesys-org/{genesys_org_id}",
}
_encode = msgspec.json.Encoder().encode
Lookup = Callable[[TenantResolver], Callable[[Principal, str], Awaitable[Tenant]]]
_LOOKUPS: dict[str, Lookup] = {
    "phone": lambda r: r.by_phone,
    "integration": lambda r: r.by_integration,
    "genesys-org": lambda r: r.by_genesys_org,
}


async def try_fast_lane(services: Services, scope: Scope, send: Send, header: tuple[bytes, bytes]) -> str | None:
    """Answer the request if it qualifies; returns the route template served, or ``None`` to fall through."""
    if scope["method"] != "GET" or (match := _PATH.match(scope["path"])) is None:
        return None
    principal = _known_caller(services, scope)
    if principal is None or principal.role is Role.TENANT:
        return None
    _, lookup, value = match.groups()
    try:
        tenant = await _LOOKUPS[lookup](services.resolver)(principal, value)
    except Exception:  # noqa: BLE001  (the normal route re-runs the lookup and renders whatever it raises)
        return None
    body = _encode(ResolvedTenant.of(tenant))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                header,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    prefix = "/api" if match.group(1) else ""
    return prefix + _TEMPLATES[lookup]


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
