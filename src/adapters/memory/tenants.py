"""In-memory storage: the reference implementation of the storage ports.

Public and supported: other services use it in their tests, and it behaves like the Postgres adapter
(same uniqueness rules, same ordering, transactions that commit whole or not at all).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Self

import msgspec

from tenant_core.entities import (
    UNIQUE_FIELDS,
    ApiKey,
    AuditEvent,
    Provisioned,
    Tenant,
    TenantQuery,
    TenantStatus,
    wire_name,
)
from tenant_core.errors import ConflictError

_LIVE = (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)


class _State(msgspec.Struct):
    tenants: dict[str, Tenant] = msgspec.field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, str, datetime]] = msgspec.field(default_factory=dict)
    api_keys: dict[str, ApiKey] = msgspec.field(default_factory=dict)
    audit: list[AuditEvent] = msgspec.field(default_factory=list)

    def copy(self) -> _State:
        return _State(dict(self.tenants), dict(self.idempotency), dict(self.api_keys), list(self.audit))

    def drop_owned_by(self, tenant_id: str) -> None:
        """What a tenant owns goes with it (the database does this with ON DELETE CASCADE)."""
        self.api_keys = {k: v for k, v in self.api_keys.items() if v.tenant_id != tenant_id}
        self.idempotency = {k: v for k, v in self.idempotency.items() if v[1] != tenant_id}


class _StateView:
    """Reads and writes whichever state ``state_of`` returns: the committed one, or a transaction's copy."""

    def __init__(self, state_of: Callable[[], _State]) -> None:
        self._state_of = state_of

    @property
    def _state(self) -> _State:
        return self._state_of()


class InMemoryTenantRepository(_StateView):
    async def get(self, tenant_id: str) -> Tenant | None:
        return self._state.tenants.get(tenant_id)

    async def get_by_phone(self, phone_number_id: str) -> Tenant | None:
        return self._live_by("phone_number_id", phone_number_id)

    async def get_by_integration(self, integration_id: str) -> Tenant | None:
        return self._live_by("genesys_integration_id", integration_id)

    async def get_by_genesys_org(self, genesys_org_id: str) -> Tenant | None:
        return self._live_by("genesys_org_id", genesys_org_id)

    def _live_by(self, field: str, value: str) -> Tenant | None:
        wanted = value.lower()
        for tenant in self._state.tenants.values():
            if tenant.status in _LIVE and (getattr(tenant, field) or "").lower() == wanted:
                return tenant
        return None

    async def list(self, query: TenantQuery) -> tuple[list[Tenant], int]:
        needle = query.q.lower() if query.q else None
        matching = [
            t
            for t in self._state.tenants.values()
            if (t.status is query.status if query.status else t.status is not TenantStatus.DELETED)
            and (needle is None or any(needle in (v or "").lower() for v in (t.name, t.email, t.domain)))
        ]
        matching.sort(key=lambda t: (t.created_at, t.id), reverse=True)
        return matching[query.offset : query.offset + query.limit], len(matching)

    async def add(self, tenant: Tenant) -> Tenant:
        if tenant.id in self._state.tenants:
            raise ConflictError("id is already taken", "id")
        self._check_unique(tenant)
        self._state.tenants[tenant.id] = tenant
        return tenant

    async def replace(self, tenant: Tenant, expected_version: int) -> Tenant | None:
        stored = self._state.tenants.get(tenant.id)
        if stored is None or stored.version != expected_version:
            return None
        self._check_unique(tenant)
        self._state.tenants[tenant.id] = tenant
        return tenant

    async def remove(self, tenant_id: str) -> Tenant | None:
        removed = self._state.tenants.pop(tenant_id, None)
        if removed is not None:
            self._state.drop_owned_by(tenant_id)
        return removed

    async def add_or_get_by_genesys_org(self, tenant: Tenant) -> Provisioned:
        assert tenant.genesys_org_id is not None
        if (existing := self._live_by("genesys_org_id", tenant.genesys_org_id)) is not None:
            return Provisioned(tenant=existing, is_new=False)
        return Provisioned(tenant=await self.add(tenant), is_new=True)

    def _check_unique(self, tenant: Tenant) -> None:
        if tenant.status is TenantStatus.DELETED:
            return
        for field in UNIQUE_FIELDS:
            value = getattr(tenant, field)
            if value is None:
                continue
            for other in self._state.tenants.values():
                if (
                    other.id != tenant.id
                    and other.status is not TenantStatus.DELETED
                    and (getattr(other, field) or "").lower() == value.lower()
                ):
                    raise ConflictError(f"{wire_name(field)} is already taken", wire_name(field))


class InMemoryIdempotencyKeys(_StateView):
    async def recall(self, scope: str, key: str, since: datetime) -> tuple[str, str] | None:
        entry = self._state.idempotency.get((scope, key))
        if entry is None or entry[2] < since:
            return None
        return entry[0], entry[1]

    async def remember(self, scope: str, key: str, fingerprint: str, tenant_id: str, at: datetime) -> None:
        if (scope, key) in self._state.idempotency:
            raise ConflictError("Idempotency-Key is being used by another request", "Idempotency-Key")
        self._state.idempotency[(scope, key)] = (fingerprint, tenant_id, at)


class InMemoryApiKeyRepository(_StateView):
    async def add(self, key: ApiKey) -> ApiKey:
        self._state.api_keys[key.id] = key
        return key

    async def list_for_tenant(self, tenant_id: str) -> list[ApiKey]:
        keys = [k for k in self._state.api_keys.values() if k.tenant_id == tenant_id]
        return sorted(keys, key=lambda k: (k.created_at, k.id), reverse=True)

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self._state.api_keys.values() if k.key_hash == key_hash), None)

    async def remove(self, tenant_id: str, key_id: str) -> ApiKey | None:
        key = self._state.api_keys.get(key_id)
        if key is None or key.tenant_id != tenant_id:
            return None
        return self._state.api_keys.pop(key_id)

    async def touch(self, key_id: str, at: datetime) -> None:
        if (key := self._state.api_keys.get(key_id)) is not None:
            self._state.api_keys[key_id] = msgspec.structs.replace(key, last_used_at=at)


class InMemoryAuditLog(_StateView):
    async def record(self, event: AuditEvent) -> None:
        self._state.audit.append(event)

    async def list_for_tenant(self, tenant_id: str, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
        events = [e for e in reversed(self._state.audit) if e.tenant_id == tenant_id]
        return events[offset : offset + limit], len(events)


class InMemoryUnitOfWork:
    """Works on a private copy of the state and publishes it on commit; one transaction at a time."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage

    async def __aenter__(self) -> Self:
        await self._storage._lock.acquire()
        work = self._work = self._storage._state.copy()
        self.tenants = InMemoryTenantRepository(lambda: work)
        self.idempotency = InMemoryIdempotencyKeys(lambda: work)
        self.api_keys = InMemoryApiKeyRepository(lambda: work)
        self.audit = InMemoryAuditLog(lambda: work)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._storage._publish(self._work)
        finally:
            self._storage._lock.release()


class InMemoryStorage:
    """All storage ports in one process's memory. ``seed`` preloads tenants (for tests)."""

    def __init__(self, seed: Iterable[Tenant] = ()) -> None:
        self._state = _State(tenants={t.id: t for t in seed})
        self._lock = asyncio.Lock()
        self.tenants = InMemoryTenantRepository(lambda: self._state)
        self.idempotency = InMemoryIdempotencyKeys(lambda: self._state)
        self.api_keys = InMemoryApiKeyRepository(lambda: self._state)
        self.audit = InMemoryAuditLog(lambda: self._state)

    def _publish(self, state: _State) -> None:
        self._state = state

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    async def ping(self) -> None:
        return None

    async def missing_migrations(self) -> set[str]:
        return set()  # nothing to migrate in memory
