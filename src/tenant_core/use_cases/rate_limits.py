"""Per-tenant request budgets: the tenant's ``rateLimit`` requests per minute."""

from __future__ import annotations

from tenant_core.entities import Admission
from tenant_core.errors import RateLimitedError
from tenant_core.lookup_cache import TenantCache, id_key
from tenant_core.ports import RateLimiter, Storage
from tenant_core.security import Principal, Role

WINDOW_SECONDS = 60


class RateLimitPolicy:
    def __init__(self, limiter: RateLimiter, storage: Storage, tenant_cache: TenantCache) -> None:
        self._limiter = limiter
        self._storage = storage
        self._tenant_cache = tenant_cache

    async def admit(self, principal: Principal) -> Admission | None:
        """Count the request. Only ``tenant`` principals are limited (``None`` for the others)."""
        if principal.role is not Role.TENANT or principal.tenant_id is None:
            return None
        tenant_id = principal.tenant_id
        tenant = await self._tenant_cache.get_or_load(id_key(tenant_id), lambda: self._storage.tenants.get(tenant_id))
        limit = tenant.rate_limit if tenant is not None else 1
        count, reset = await self._limiter.hit(f"tenant:{tenant_id}", limit, WINDOW_SECONDS)
        if count > limit:
            raise RateLimitedError(
                f"Rate limit of {limit} requests per minute exceeded", limit=limit, retry_after_seconds=max(1, reset)
            )
        return Admission(limit=limit, remaining=limit - count, retry_after_seconds=reset)
