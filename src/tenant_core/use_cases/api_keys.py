"""Tenant API keys: issued (secret shown once), listed without secrets, revoked at once."""

from __future__ import annotations

from tenant_core.api_key_secrets import api_key_cache_key, check_name, issue_in
from tenant_core.audit import AuditAction, record
from tenant_core.entities import ApiKey, IssuedApiKey
from tenant_core.errors import NotFoundError
from tenant_core.lookup_cache import ReadThrough, TenantDirectory
from tenant_core.ports import Clock, Storage
from tenant_core.security import Permission, Principal


class ApiKeyService:
    """Issues, lists and revokes a tenant's ``sk_`` API keys; a key's secret is shown once, at issue."""

    def __init__(
        self, storage: Storage, key_cache: ReadThrough[ApiKey], clock: Clock, directory: TenantDirectory
    ) -> None:
        self._storage = storage
        self._key_cache = key_cache
        self._clock = clock
        self._directory = directory

    async def issue(self, principal: Principal, tenant_id: str, name: str) -> IssuedApiKey:
        principal.require(Permission.API_KEYS_MANAGE, tenant_id)
        check_name(name)
        await self._directory.live(tenant_id)
        async with self._storage.unit_of_work() as uow:
            return await issue_in(uow, self._clock, principal, tenant_id, name)

    async def list(self, principal: Principal, tenant_id: str) -> list[ApiKey]:
        principal.require(Permission.API_KEYS_MANAGE, tenant_id)
        await self._directory.live(tenant_id)
        return await self._storage.api_keys.list_for_tenant(tenant_id)

    async def revoke(self, principal: Principal, tenant_id: str, key_id: str) -> None:
        """Delete the key; every process refuses it once its cache entry's invalidation reaches it (at once here,
        within the staleness bound elsewhere)."""
        principal.require(Permission.API_KEYS_MANAGE, tenant_id)
        async with self._storage.unit_of_work() as uow:
            removed = await uow.api_keys.remove(tenant_id, key_id)
            if removed is None:
                raise NotFoundError(f"API key {key_id} not found")
            detail = {"apiKeyId": removed.id, "name": removed.name, "prefix": removed.prefix}
            await record(uow, self._clock, principal, AuditAction.API_KEY_REVOKED, tenant_id, ["id"], detail=detail)
            stale = self._key_cache.announce(uow, [api_key_cache_key(removed.key_hash)])  # reaches every process
        await self._key_cache.forget_keys(stale)
