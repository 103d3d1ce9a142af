"""Who is calling: a tenant API key (``sk_…``) or a signed token (JWT)."""

from __future__ import annotations

import hmac
import time

import msgspec

from tenant_core.api_key_secrets import SECRET_PREFIX, api_key_cache_key, hash_secret
from tenant_core.entities import ApiKey, TenantStatus
from tenant_core.errors import AuthenticationFailedError, NotFoundError, Refusal
from tenant_core.lookup_cache import ReadThrough, TenantDirectory
from tenant_core.ports import Clock, Storage, TokenVerifier
from tenant_core.security import Principal, Role

_TOUCH_EVERY_SECONDS = 60.0  # lastUsedAt is kept to the minute, without a write per request


class Authenticator:
    """Turns a bearer JWT or an ``sk_`` API key into a :class:`Principal`, checking its tenant still stands."""

    def __init__(
        self,
        storage: Storage,
        key_cache: ReadThrough[ApiKey],
        directory: TenantDirectory,
        tokens: TokenVerifier,
        clock: Clock,
    ) -> None:
        self._storage = storage
        self._key_cache = key_cache
        self._directory = directory
        self._tokens = tokens
        self._clock = clock
        self._touched: dict[str, float] = {}

    async def authenticate(self, credential: str) -> Principal:
        """The principal behind a bearer credential, or :class:`AuthenticationFailedError`.

        A tenant principal (JWT or API key) stands or falls with its tenant, checked on every request
        through the tenant cache: deleted or unknown → refused; suspended → marked, so that it may only
        read its own record.
        """
        if credential.startswith(SECRET_PREFIX):
            principal = await self._api_key(credential)
        else:
            principal = self._tokens.verify(credential)
        if principal.role is not Role.TENANT or principal.tenant_id is None:
            return principal
        try:
            tenant = await self._directory.live(principal.tenant_id)  # cached: this runs on every request
        except NotFoundError:  # told as a credential never issued would be; the log line says why
            refused = "Invalid API key" if credential.startswith(SECRET_PREFIX) else "Invalid or expired token"
            raise AuthenticationFailedError(refused, Refusal.TENANT_DELETED, principal) from None
        if tenant.status is TenantStatus.SUSPENDED:
            return msgspec.structs.replace(principal, suspended=True)
        return principal

    def already_verified(self, credential: str) -> Principal | None:
        """The principal of a bearer token verified before and still valid, with no I/O; else ``None``.

        API keys are never answered here: they need their tenant's status and touch ``lastUsedAt``.
        """
        if credential.startswith(SECRET_PREFIX):
            return None
        return self._tokens.verified(credential)

    async def _api_key(self, secret: str) -> Principal:
        key_hash = hash_secret(secret)
        key = await self._key_cache.get_or_load(
            api_key_cache_key(key_hash), lambda: self._storage.api_keys.find_by_hash(key_hash, include_revoked=True)
        )
        if key is None or not hmac.compare_digest(key.key_hash, key_hash):
            raise AuthenticationFailedError("Invalid API key", Refusal.UNKNOWN_KEY)
        principal = Principal(subject=key.id, role=Role.TENANT, tenant_id=key.tenant_id)
        if key.revoked_at is not None:
            raise AuthenticationFailedError("Invalid API key", Refusal.REVOKED, principal)
        await self._touch(key.id)
        return principal

    async def _touch(self, key_id: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(key_id, float("-inf")) < _TOUCH_EVERY_SECONDS:
            return
        self._touched[key_id] = now
        if len(self._touched) > 100_000:  # bounded: forget the oldest half
            for stale in list(self._touched)[: len(self._touched) // 2]:
                del self._touched[stale]
        await self._storage.api_keys.touch(key_id, self._clock.now())
