"""Tenant API keys: issued (secret shown once), listed without secrets, revoked at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from tenant_core.audit import AuditAction, record
from tenant_core.entities import ApiKey, IssuedApiKey
from tenant_core.errors import NotFoundError
from tenant_core.lookup_cache import ReadThrough, TenantCache, TenantDirectory
from tenant_core.ports import Clock, Storage, UnitOfWork
from tenant_core.security import Permission, Principal

SECRET_PREFIX = "sk_"


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret. Keys carry 256 random bits, so a slow hash would add cost and no safety."""
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def new_api_key(tenant_id: str, name: str, now: datetime) -> IssuedApiKey:
    secret = SECRET_PREFIX + secrets.token_hex(32)
    key = ApiKey(
        id="key_" + secrets.token_hex(8),
        tenant_id=tenant_id,
        name=name,
        prefix=secret[:11],  # "sk_" + 8 hex: enough to recognise a key, useless to guess it
        key_hash=hash_secret(secret),
        created_at=now,
    )
    return IssuedApiKey(key=key, secret=secret)


async def issue_in(uow: UnitOfWork, clock: Clock, principal: Principal, tenant_id: str, name: str) -> IssuedApiKey:
    """Issue a key inside an open unit of work (tenant creation uses this too)."""
    issued = new_api_key(tenant_id, name, clock.now())
    await uow.api_keys.add(issued.key)
    await record(uow, clock, principal, AuditAction.API_KEY_CREATED, tenant_id, ["name"])
    return issued


class ApiKeyService:
    def __init__(
        self, storage: Storage, key_cache: ReadThrough[ApiKey], clock: Clock, tenant_cache: TenantCache
    ) -> None:
        self._storage = storage
        self._key_cache = key_cache
        self._clock = clock
        self._directory = TenantDirectory(storage.tenants, tenant_cache)

    async def issue(self, principal: Principal, tenant_id: str, name: str) -> IssuedApiKey:
        principal.require(Permission.API_KEYS_MANAGE, tenant_id)
        await self._directory.live(tenant_id)
        async with self._storage.unit_of_work() as uow:
            return await issue_in(uow, self._clock, principal, tenant_id, name)

    async def list(self, principal: Principal, tenant_id: str) -> list[ApiKey]:
        principal.require(Permission.API_KEYS_MANAGE, tenant_id)
        await self._directory.live(tenant_id)
        return await self._storage.api_keys.list_for_tenant(tenant_id)

    async def revoke(self, principal: Principal, tenant_id: str, key_id: str) -> None:
        """Delete the key; every worker refuses it from the next request (its cache entry is invalidated)."""
        principal.require(Permission.API_KEYS_MANAGE, tenant_id)
        async with self._storage.unit_of_work() as uow:
            removed = await uow.api_keys.remove(tenant_id, key_id)
            if removed is None:
                raise NotFoundError(f"API key {key_id} not found")
            await record(uow, self._clock, principal, AuditAction.API_KEY_REVOKED, tenant_id, ["id"])
        await self._key_cache.forget_keys([api_key_cache_key(removed.key_hash)])
