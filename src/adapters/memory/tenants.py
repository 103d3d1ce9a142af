"""In-memory tenants and idempotency keys."""

from __future__ import annotations

from datetime import datetime

from tenant_adapters.memory.state import StateView
from tenant_core.entities import (
    GENESYS_ORG,
    IDEMPOTENCY_WINDOW,
    ROUTING_KEYS,
    UNIQUE_FIELDS,
    IdempotencyRecord,
    Provisioned,
    RoutingKey,
    Tenant,
    TenantQuery,
    TenantStatus,
    wire_name,
)
from tenant_core.errors import ConflictError

_LIVE = (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)


class InMemoryTenantRepository(StateView):
    """The :class:`~tenant_core.ports.TenantRepository` port over the state of :class:`InMemoryStorage`."""

    async def get(self, tenant_id: str) -> Tenant | None:
        return self._state.tenants.get(tenant_id)

    async def get_by(self, key: RoutingKey, value: str) -> Tenant | None:
        if key not in ROUTING_KEYS:
            raise KeyError(key)  # as the Postgres repository: only the routing keys are looked up
        wanted = value.lower()
        for tenant in self._state.tenants.values():
            if tenant.status in _LIVE and (getattr(tenant, key.field) or "").lower() == wanted:
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
        window = [t for t in matching if (t.created_at, t.id) < query.after] if query.after else matching
        return window[query.offset : query.offset + query.limit], len(matching)

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
        if (existing := await self.get_by(GENESYS_ORG, tenant.genesys_org_id)) is not None:
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


class InMemoryIdempotencyKeys(StateView):
    async def recall(self, scope: str, key: str, since: datetime) -> IdempotencyRecord | None:
        record = self._state.idempotency.get((scope, key))
        return record if record is not None and record.created_at >= since else None

    async def remember(self, record: IdempotencyRecord) -> None:
        earlier = self._state.idempotency.get((record.scope, record.key))
        if earlier is not None and earlier.created_at >= record.created_at - IDEMPOTENCY_WINDOW:
            raise ConflictError("The idempotency key is being used by another request", "idempotency_key")
        self._state.idempotency[(record.scope, record.key)] = record
