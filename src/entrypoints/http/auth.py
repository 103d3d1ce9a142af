"""Authentication and rate limiting for every route that is not marked ``public``.

Only header parsing lives here: who the caller is and what a tenant may spend are decided by the core
(:class:`~tenant_core.Authenticator`, :class:`~tenant_core.RateLimitPolicy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tenant_core import Principal, Role
from tenant_core.api_key_secrets import SECRET_PREFIX
from tenant_core.errors import AuthenticationFailedError, Refusal, ValidationFailedError

if TYPE_CHECKING:
    from tenant_entrypoints.container import Services

#: Acting principal when AUTH_DISABLED=true (a gateway in front has authenticated the caller).
GATEWAY_PRINCIPAL = Principal(subject="gateway", role=Role.ADMIN)


def bearer_credential(scope: Scope) -> str | None:
    """``Authorization: Bearer <credential>`` or ``X-API-Key: sk_…``; ``None`` when neither is sent.

    The one parser of credentials (the fast lane uses it too). A request carrying both headers is refused
    rather than letting the order of headers decide who the caller is.
    """
    authorization = api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is not None:
                raise ValidationFailedError.for_field("Authorization", "send one Authorization header")
            authorization = value
        elif name == b"x-api-key":
            if api_key is not None:
                raise ValidationFailedError.for_field("X-API-Key", "send one X-API-Key header")
            api_key = value
    if authorization is not None and api_key is not None:
        raise ValidationFailedError.for_field("Authorization", "send one credential: Authorization or X-API-Key")
    if api_key is not None:
        key = api_key.decode("latin-1").strip()
        if not key.startswith(SECRET_PREFIX):
            raise AuthenticationFailedError(
                "X-API-Key takes an API key (sk_…); send tokens as Authorization: Bearer", Refusal.MALFORMED_CREDENTIALS
            )
        return key
    if authorization is not None:
        scheme, _, credential = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise AuthenticationFailedError(
                "Authorization header must be 'Bearer <token>'", Refusal.MALFORMED_CREDENTIALS
            )
        return credential.strip()
    return None


def _is_schema(scope: Scope) -> bool:
    return scope["path"].startswith("/schema")


class AuthMiddleware(ASGIMiddleware):
    """Every route needs a principal unless its handler says ``opt={"public": True}`` (or it is /schema).

    ``opt={"auth": "optional"}`` lets anonymous callers through; credentials, when sent, must still be valid.
    """

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "public"
    should_bypass_for_scope = staticmethod(_is_schema)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        services: Services = scope["litestar_app"].state.services
        if services.auth_disabled:
            scope["state"]["principal"] = GATEWAY_PRINCIPAL
            await next_app(scope, receive, send)
            return
        credential = bearer_credential(scope)
        if credential is None:
            if scope["route_handler"].opt.get("auth") == "optional":
                await next_app(scope, receive, send)  # anonymous: the use case decides what that may do
                return
            raise AuthenticationFailedError(
                "Authentication required: send 'Authorization: Bearer <token>'", Refusal.MISSING_CREDENTIALS
            )
        principal = await services.authenticator.authenticate(credential)
        scope["state"]["principal"] = principal
        admission = await services.rate_limits.admit(principal)
        if admission is None:
            await next_app(scope, receive, send)
            return
        headers = [
            (b"x-ratelimit-limit", str(admission.limit).encode()),
            (b"x-ratelimit-remaining", str(admission.remaining).encode()),
        ]

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await next_app(scope, receive, send_with_budget)
