"""The :class:`~tenant_core.ports.TokenVerifier` port on PyJWT.

Policy: HS256 only; ``sub`` and an integer ``exp`` required; a token may live at most ``max_ttl_seconds``
(judged from ``iat`` when present, else from now), so a leaked long-lived token cannot outlast the cap;
``iss``/``aud`` checked when configured; a small leeway for clock skew between services.
"""

from __future__ import annotations

import secrets
import time

import jwt

from tenant_core.errors import AuthenticationFailedError
from tenant_core.security import Principal, Role

ALGORITHM = "HS256"


#: Default lifetime cap: long enough for per-service tokens minted by an operator and rotated monthly,
#: short enough that a leaked one dies within weeks (JWT_MAX_TTL_SECONDS).
DEFAULT_MAX_TTL_SECONDS = 30 * 24 * 3600
#: Default clock-skew allowance (JWT_LEEWAY_SECONDS): services on NTP agree within a few seconds.
DEFAULT_LEEWAY_SECONDS = 5


class JwtTokens:
    def __init__(
        self,
        secret: str | bytes,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        max_cached: int = 10_000,
        *,
        max_ttl_seconds: int = DEFAULT_MAX_TTL_SECONDS,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        self._secret = secret
        self._leeway = leeway_seconds
        self._max_ttl = max_ttl_seconds
        self._issuer = issuer
        self._audience = audience
        # Services send the same token on every message; verifying it once per lifetime is enough, since
        # a JWT cannot change and is only honoured until its exp (checked on every hit).
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._max_cached = max_cached

    def issue(self, principal: Principal, ttl_seconds: int = 3600) -> str:
        """A signed token; ``jti`` makes every token unique, and ``iss``/``aud`` are set when configured."""
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": principal.subject,
            "role": principal.role.value,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": secrets.token_hex(12),
        }
        if principal.tenant_id is not None:
            claims["tenant_id"] = principal.tenant_id
        if self._issuer is not None:
            claims["iss"] = self._issuer
        if self._audience is not None:
            claims["aud"] = self._audience
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verified(self, token: str) -> Principal | None:
        cached = self._verified.get(token)
        if cached is None:
            return None
        if time.time() < cached[1] + self._leeway:
            return cached[0]
        self._verified.pop(token, None)
        return None

    def verify(self, token: str) -> Principal:
        if (principal := self.verified(token)) is not None:
            return principal
        principal, expires = self._verify(token)
        if len(self._verified) >= self._max_cached:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        required = ["exp", "sub"] + ["iss"] * (self._issuer is not None) + ["aud"] * (self._audience is not None)
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # never "none", never a key-confusion algorithm
                # Always checked: without JWT_AUDIENCE a token naming any audience (minted for another service)
                # is refused, and one naming none is accepted, as the platform's services mint them.
                options={"require": required, "verify_aud": True},
                leeway=self._leeway,
                issuer=self._issuer,
                audience=self._audience,
            )
        except jwt.PyJWTError:
            raise AuthenticationFailedError("Invalid or expired token") from None
        expires = claims["exp"]
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise AuthenticationFailedError("Token exp must be an integer")
        issued = claims.get("iat")
        start = issued if isinstance(issued, int) and not isinstance(issued, bool) else int(time.time())
        if expires - start > self._max_ttl + self._leeway:
            raise AuthenticationFailedError("Token lifetime exceeds the allowed maximum")
        try:
            role = Role(claims.get("role"))
        except ValueError:
            raise AuthenticationFailedError("Token has no valid role") from None
        tenant_id = claims.get("tenant_id")
        if role is Role.TENANT and not isinstance(tenant_id, str):
            raise AuthenticationFailedError("Tenant token has no tenant_id")
        principal = Principal(
            subject=str(claims["sub"]), role=role, tenant_id=tenant_id if role is Role.TENANT else None
        )
        return principal, float(claims["exp"])
