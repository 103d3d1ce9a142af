"""The :class:`~tenant_core.ports.TokenVerifier` port on PyJWT: HS256 only, ``exp`` and ``sub`` required."""

from __future__ import annotations

import time

import jwt

from tenant_core.errors import AuthenticationFailedError
from tenant_core.security import Principal, Role

ALGORITHM = "HS256"


class JwtTokens:
    def __init__(self, secret: str | bytes, leeway_seconds: int = 30, max_cached: int = 10_000) -> None:
        self._secret = secret
        self._leeway = leeway_seconds  # small clock skew between services is normal
        # Services send the same token on every message; verifying it once per lifetime is enough, since
        # a JWT cannot change and is only honoured until its exp (checked on every hit).
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._max_cached = max_cached

    def issue(self, principal: Principal, ttl_seconds: int = 3600) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": principal.subject,
            "role": principal.role.value,
            "iat": now,
            "exp": now + ttl_seconds,
        }
        if principal.tenant_id is not None:
            claims["tenant_id"] = principal.tenant_id
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
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # never "none", never a key-confusion algorithm
                options={"require": ["exp", "sub"]},
                leeway=self._leeway,
            )
        except jwt.PyJWTError:
            raise AuthenticationFailedError("Invalid or expired token") from None
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
