"""Per-tenant request budgets: the tenant's ``rateLimit`` requests per minute."""

from __future__ import annotations

from tenant_core.entities import Admission
from tenant_core.errors import RateLimitedError
from tenant_core.lookup_cache import TenantDirectory
from tenant_core.ports import RateLimiter
from tenant_core.security import Principal, Role

WINDOW_SECONDS = 60


class RateLimitPolicy:
    """Counts a tenant principal's requests against its tenant's ``rate_limit`` per minute."""

    def __init__(self, limiter: RateLimiter, directory: TenantDirectory) -> None:
        self._limiter = limiter
        self._directory = directory

    @staticmethod
    def applies_to(principal: Principal) -> bool:
        """Only tenants are limited: admins and services are the platform itself."""
        return principal.role is Role.TENANT and principal.tenant_id is not None

    async def admit(self, principal: Principal) -> Admission | None:
        """Count the request of a limited principal (``None`` for the others)."""
        if not self.applies_to(principal) or principal.tenant_id is None:
            return None
        tenant = await self._directory.any(principal.tenant_id)
        limit = tenant.rate_limit if tenant is not None else 1
        count, reset = await self._limiter.hit(f"tenant:{principal.tenant_id}", limit, WINDOW_SECONDS)
        if count > limit:
            raise RateLimitedError(
                f"Rate limit of {limit} requests per minute exceeded", limit=limit, retry_after_seconds=max(1, reset)
            )
        return Admission(limit=limit, remaining=limit - count, retry_after_seconds=reset)
