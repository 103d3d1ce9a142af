"""Who is calling: a tenant API key (``sk_…``) or a signed token (JWT)."""

from __future__ import annotations

import hmac
import time

from tenant_core.entities import ApiKey, TenantStatus
from tenant_core.errors import AuthenticationFailedError
from tenant_core.lookup_cache import ReadThrough, TenantCache, id_key
from tenant_core.ports import Clock, Storage, TokenVerifier
from tenant_core.security import Principal, Role
from tenant_core.use_cases.api_keys import SECRET_PREFIX, api_key_cache_key, hash_secret

_TOUCH_EVERY_SECONDS = 60.0  # lastUsedAt is kept to the minute, without a write per request


class Authenticator:
    def __init__(
        self,
        storage: Storage,
        key_cache: ReadThrough[ApiKey],
        tenant_cache: TenantCache,
        tokens: TokenVerifier,
        clock: Clock,
    ) -> None:
        self._storage = storage
        self._key_cache = key_cache
        self._tenant_cache = tenant_cache
        self._tokens = tokens
        self._clock = clock
        self._touched: dict[str, float] = {}

    async def authenticate(self, credential: str) -> Principal:
        """The principal behind a bearer credential, or :class:`AuthenticationFailedError`."""
        if credential.startswith(SECRET_PREFIX):
            return await self._api_key(credential)
        return self._tokens.verify(credential)

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
            api_key_cache_key(key_hash), lambda: self._storage.api_keys.find_by_hash(key_hash)
        )
        if key is None or not hmac.compare_digest(key.key_hash, key_hash):
            raise AuthenticationFailedError("Invalid API key")
        tenant = await self._tenant_cache.get_or_load(
            id_key(key.tenant_id), lambda: self._storage.tenants.get(key.tenant_id)
        )
        if tenant is None or tenant.status is not TenantStatus.ACTIVE:
            raise AuthenticationFailedError("Invalid API key")  # suspended and deleted tenants' keys stop working
        await self._touch(key.id)
        return Principal(subject=key.id, role=Role.TENANT, tenant_id=key.tenant_id)

    async def _touch(self, key_id: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(key_id, float("-inf")) < _TOUCH_EVERY_SECONDS:
            return
        self._touched[key_id] = now
        if len(self._touched) > 100_000:  # bounded: forget the oldest half
            for stale in list(self._touched)[: len(self._touched) // 2]:
                del self._touched[stale]
        await self._storage.api_keys.touch(key_id, self._clock.now())
