"""The :class:`~tenant_core.ports.TokenVerifier` port on PyJWT.

Policy: HS256 only; ``sub`` and an integer ``exp`` required; a token may live at most ``max_ttl_seconds``
(judged from ``iat`` when present, else from now), so a leaked long-lived token cannot outlast the cap;
``iss``/``aud`` checked when configured; a small leeway for clock skew between services.

Secrets rotate without a flag day: with several named secrets (``JWT_SECRETS=kid=secret,…``) the first signs
and puts its name in the token's ``kid`` header; a token's ``kid`` picks the secret that verifies it (an
unknown ``kid`` is refused), and a token without one, as the platform's services mint with the shared
secret, is accepted when any configured secret verifies it. Removing a secret stops its tokens.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import jwt

from tenant_adapters.named_secrets import named_entries
from tenant_core.errors import AuthenticationFailedError, Refusal
from tenant_core.security import Principal, Role

ALGORITHM = "HS256"

#: What a refused token is told (the same for every failure) and why it was refused (for the log only).
_REFUSED = "Invalid or expired token"
_REASONS: dict[type[jwt.PyJWTError], Refusal] = {
    jwt.ExpiredSignatureError: Refusal.EXPIRED,
    jwt.ImmatureSignatureError: Refusal.NOT_YET_VALID,
    jwt.InvalidIssuerError: Refusal.WRONG_ISSUER,
    jwt.InvalidAudienceError: Refusal.WRONG_AUDIENCE,
    jwt.InvalidAlgorithmError: Refusal.BAD_SIGNATURE,
    jwt.InvalidSignatureError: Refusal.BAD_SIGNATURE,
    jwt.MissingRequiredClaimError: Refusal.INVALID_CLAIMS,
    jwt.InvalidIssuedAtError: Refusal.INVALID_CLAIMS,
    jwt.DecodeError: Refusal.MALFORMED_TOKEN,
}


def _refused(exc: jwt.PyJWTError) -> AuthenticationFailedError:
    reason = next((_REASONS[c] for c in type(exc).__mro__ if c in _REASONS), Refusal.INVALID_CLAIMS)
    return AuthenticationFailedError(_REFUSED, reason)


#: Default lifetime cap: long enough for per-service tokens minted by an operator and rotated monthly,
#: short enough that a leaked one dies within weeks (JWT_MAX_TTL_SECONDS).
DEFAULT_MAX_TTL_SECONDS = 30 * 24 * 3600
#: Default clock-skew allowance (JWT_LEEWAY_SECONDS): services on NTP agree within a few seconds.
DEFAULT_LEEWAY_SECONDS = 5
#: The shortest secret accepted (HS256 wants at least its 32-byte output size).
MIN_SECRET_LENGTH = 32


def parse_jwt_secrets(text: str) -> dict[str, str]:
    """``kid=secret,kid2=secret2`` → ``{kid: secret}`` in order (the first signs); each secret must be at least
    32 characters. The list's format: :mod:`tenant_adapters.named_secrets`."""
    named: dict[str, str] = {}
    for n, kid, secret in named_entries(text, "kid=secret", "secrets"):
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the secret of entry {n} must be at least {MIN_SECRET_LENGTH} characters")
        named[kid] = secret
    return named


class JwtTokens:
    """The :class:`~tenant_core.ports.TokenVerifier` port on PyJWT (HS256): verifies bearer tokens (a cached
    verification until they expire) and mints them for the CLI."""

    def __init__(
        self,
        secret: str | bytes | Mapping[str, str | bytes],
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        max_cached: int = 10_000,
        *,
        max_ttl_seconds: int = DEFAULT_MAX_TTL_SECONDS,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        """``secret``: one secret (its tokens carry no ``kid``, and a ``kid`` sent is ignored), or named
        secrets ``{kid: secret}``, the first of which signs (see the module docstring)."""
        if isinstance(secret, Mapping):
            if not secret:
                raise ValueError("at least one secret is required")
            self._named: dict[str, str | bytes] = dict(secret)
            self._signing: tuple[str | None, str | bytes] = next(iter(self._named.items()))
        else:
            self._named = {}
            self._signing = (None, secret)
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
        kid, key = self._signing
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers=None if kid is None else {"kid": kid})

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
        for key in self._candidates(token):
            try:
                claims = self._decode(token, key)
                break
            except jwt.InvalidSignatureError:
                continue  # signed with another of the configured secrets, or with none
            except jwt.ExpiredSignatureError:
                raise self._expired(token, key) from None
            except jwt.PyJWTError as exc:
                raise _refused(exc) from None
        else:
            raise AuthenticationFailedError(_REFUSED, Refusal.BAD_SIGNATURE)
        return self._principal(claims), float(claims["exp"])

    def _decode(self, token: str, key: str | bytes, verify_exp: bool = True) -> dict[str, Any]:
        required = ["exp", "sub"] + ["iss"] * (self._issuer is not None) + ["aud"] * (self._audience is not None)
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # never "none", never a key-confusion algorithm
            # Always checked: without JWT_AUDIENCE a token naming any audience (minted for another
            # service) is refused, and one naming none is accepted, as the platform's services mint them.
            options={"require": required, "verify_aud": True, "verify_exp": verify_exp},
            leeway=self._leeway,
            issuer=self._issuer,
            audience=self._audience,
        )

    def _expired(self, token: str, key: str | bytes) -> AuthenticationFailedError:
        """The refusal of a token whose signature verified but whose time is up, naming whom it was for: an
        operator reading "expired" wants to know which service to give a new token."""
        try:
            principal: Principal | None = self._principal(self._decode(token, key, verify_exp=False))
        except (jwt.PyJWTError, AuthenticationFailedError):
            principal = None  # expired and otherwise invalid too: name nobody
        return AuthenticationFailedError(_REFUSED, Refusal.EXPIRED, principal)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        expires = claims["exp"]
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise AuthenticationFailedError(_REFUSED, Refusal.INVALID_CLAIMS)
        issued = claims.get("iat")
        start = issued if isinstance(issued, int) and not isinstance(issued, bool) else int(time.time())
        if expires - start > self._max_ttl + self._leeway:
            raise AuthenticationFailedError(_REFUSED, Refusal.TOO_LONG_LIVED)
        try:
            role = Role(claims.get("role"))
        except ValueError:
            raise AuthenticationFailedError(_REFUSED, Refusal.INVALID_CLAIMS) from None
        tenant_id = claims.get("tenant_id")
        if role is Role.TENANT and not isinstance(tenant_id, str):
            raise AuthenticationFailedError(_REFUSED, Refusal.INVALID_CLAIMS)
        return Principal(subject=str(claims["sub"]), role=role, tenant_id=tenant_id if role is Role.TENANT else None)

    def _candidates(self, token: str) -> list[str | bytes]:
        """The secrets that may have signed ``token``: the one its ``kid`` names, or every one without a kid."""
        if not self._named:
            return [self._signing[1]]
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise AuthenticationFailedError(_REFUSED, Refusal.MALFORMED_TOKEN) from None
        if kid is None:
            return list(self._named.values())
        if not isinstance(kid, str) or kid not in self._named:
            raise AuthenticationFailedError(_REFUSED, Refusal.BAD_SIGNATURE)  # a removed secret's tokens stop here
        return [self._named[kid]]
