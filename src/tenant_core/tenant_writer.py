"""The one way a tenant is created or changes: in a unit of work with its audit event (optimistic
compare-and-set for a change), announced stale to every process when it commits, then uncached here.

Use cases that write more than the tenant row (credentials, WhatsApp signup, a first API key, an import's
bookkeeping) pass ``also`` / ``then``: further writes that commit in the same transaction as the tenant
and its audit event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import msgspec

from tenant_core.audit import AuditAction, record
from tenant_core.entities import Tenant, TenantStatus, wire_name
from tenant_core.errors import ConflictError, NotFoundError, PreconditionFailedError
from tenant_core.lookup_cache import TenantCache
from tenant_core.ports import Clock, Storage, UnitOfWork
from tenant_core.security import Principal

#: Computes the tenant fields to set (Python names) from the current tenant.
Compute = Callable[[Tenant], dict[str, Any]]
#: More writes in the same transaction; returns the names of what it changed, for the audit event.
Also = Callable[[UnitOfWork, Tenant], Awaitable[Iterable[str]]]
#: More writes in the same transaction as a new tenant, after its creation is recorded.
Then = Callable[[UnitOfWork, Tenant], Awaitable[None]]

_CAS_ATTEMPTS = 8


class TenantWriter:
    """The one way a tenant is created or changed: compare-and-set, audit row and events in one transaction,
    cache invalidation after commit."""

    def __init__(self, storage: Storage, cache: TenantCache, clock: Clock) -> None:
        self._storage = storage
        self._cache = cache
        self._clock = clock

    async def create(
        self,
        principal: Principal,
        action: AuditAction,
        tenant: Tenant,
        changes: Iterable[str],
        *,
        then: Then | None = None,
    ) -> Tenant:
        """Insert ``tenant`` with its audit row and change events, and ``then``'s writes, in one transaction;
        then forget what caches hold for its id and lookup keys (a cached "not found").

        Raises :class:`~tenant_core.errors.ConflictError` when the id or a unique value is taken.
        """
        async with self._storage.unit_of_work() as uow:
            stored = await uow.tenants.add(tenant)
            await record(uow, self._clock, principal, action, stored.id, changes, after=stored)
            if then is not None:
                await then(uow, stored)
            stale = self._cache.announce_tenants(uow, stored)  # clears cached "not found"s of its lookup keys
        await self._cache.forget_keys(stale)
        return stored

    async def change(
        self,
        principal: Principal,
        action: AuditAction,
        tenant_id: str,
        compute: Compute,
        *,
        expected_version: int | None = None,
        also: Also | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Tenant:
        """Apply ``compute`` (and ``also``) atomically with its audit row and change events; retried when
        another writer got in first. ``detail`` is passed to the events (see :mod:`tenant_core.change_events`).

        With ``expected_version`` (from ``If-Match``) a concurrent change is reported instead of retried.
        """
        for _ in range(_CAS_ATTEMPTS):
            async with self._storage.unit_of_work() as uow:
                current = await uow.tenants.get(tenant_id)
                if current is None:
                    raise NotFoundError(f"Tenant {tenant_id} not found")
                if expected_version is not None and expected_version != current.version:
                    raise PreconditionFailedError(
                        f"Tenant {tenant_id} is at version {current.version}, not {expected_version}"
                    )
                if current.status is TenantStatus.DELETED:
                    raise ConflictError("A deleted tenant cannot be changed", "status")
                fields = {k: v for k, v in compute(current).items() if getattr(current, k) != v}
                stored: Tenant | None = current
                if fields:
                    changed = msgspec.structs.replace(
                        current, **fields, version=current.version + 1, updated_at=self._clock.now()
                    )
                    stored = await uow.tenants.replace(changed, expected_version=current.version)
                if stored is not None:
                    names = {wire_name(f) for f in fields}
                    if also is not None:
                        names.update(await also(uow, stored))
                    if not names:
                        return current
                    await record(
                        uow,
                        self._clock,
                        principal,
                        action,
                        tenant_id,
                        names,
                        before=current,
                        after=stored,
                        detail=detail,
                    )
                    # Every process drops both versions' keys when this commits, even if this one dies first.
                    stale = self._cache.announce_tenants(uow, current, stored)
            if stored is not None:
                await self._cache.forget_keys(stale)  # this process, and Redis, before the write is acknowledged
                return stored
            if expected_version is not None:
                raise PreconditionFailedError(f"Tenant {tenant_id} was changed by another request")
        raise ConflictError(f"Tenant {tenant_id} is being changed by other requests; retry")
