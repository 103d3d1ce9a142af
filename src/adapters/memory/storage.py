"""In-memory storage: the reference implementation of the storage ports.

Public and supported: other services use it in their tests, and it behaves like the Postgres adapter
(same uniqueness rules, same ordering, transactions that commit whole or not at all).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from types import TracebackType
from typing import Self

from tenant_adapters.memory.credentials import InMemoryCredentialStore, last_checked
from tenant_adapters.memory.events import InMemoryEventConsumers, InMemoryEventLog, InMemoryWebhookRepository
from tenant_adapters.memory.invalidations import InMemoryCacheInvalidations, InMemoryInvalidationFollower
from tenant_adapters.memory.legacy_imports import InMemoryImportRecords
from tenant_adapters.memory.locks import InMemoryFleetLocks
from tenant_adapters.memory.sealed import InMemorySealedValues
from tenant_adapters.memory.security import InMemoryApiKeyRepository, InMemoryAuditLog
from tenant_adapters.memory.signup import InMemorySignupNonces
from tenant_adapters.memory.state import State
from tenant_adapters.memory.tenants import InMemoryIdempotencyKeys, InMemoryTenantRepository
from tenant_core.connections import ConnectionStatus, TokenHealth
from tenant_core.entities import Tenant, TenantStatus
from tenant_core.operations import Backlog, ConnectionsHealth
from tenant_core.webhooks import DeliveryState, WebhookStatus


class InMemoryUnitOfWork:
    """Works on a private copy of the state and publishes it on commit; one transaction at a time."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage

    async def __aenter__(self) -> Self:
        await self._storage._lock.acquire()
        work = self._work = self._storage._state.copy()
        self.invalidations = InMemoryCacheInvalidations()
        self.tenants = InMemoryTenantRepository(lambda: work)
        self.idempotency = InMemoryIdempotencyKeys(lambda: work)
        self.api_keys = InMemoryApiKeyRepository(lambda: work)
        self.audit = InMemoryAuditLog(lambda: work)
        self.credentials = InMemoryCredentialStore(lambda: work)
        self.signup_nonces = InMemorySignupNonces(lambda: work)
        self.events = InMemoryEventLog(lambda: work)
        self.consumers = InMemoryEventConsumers(lambda: work)
        self.webhooks = InMemoryWebhookRepository(lambda: work)
        self.legacy_imports = InMemoryImportRecords(lambda: work)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._storage._publish(self._work)
        finally:
            self._storage._lock.release()
        if exc_type is None:
            self._storage.invalidation_follower.deliver(self.invalidations.keys)


class InMemoryStorage:
    """All storage ports in one process's memory. ``seed`` preloads tenants (for tests). ``locks`` are its fleet
    locks: the fleet is this process."""

    def __init__(self, seed: Iterable[Tenant] = ()) -> None:
        self._state = State(tenants={t.id: t for t in seed})
        self._lock = asyncio.Lock()
        self.tenants = InMemoryTenantRepository(lambda: self._state)
        self.idempotency = InMemoryIdempotencyKeys(lambda: self._state)
        self.api_keys = InMemoryApiKeyRepository(lambda: self._state)
        self.audit = InMemoryAuditLog(lambda: self._state)
        self.credentials = InMemoryCredentialStore(lambda: self._state)
        self.signup_nonces = InMemorySignupNonces(lambda: self._state)
        self.events = InMemoryEventLog(lambda: self._state)
        self.webhooks = InMemoryWebhookRepository(lambda: self._state)
        self.legacy_imports = InMemoryImportRecords(lambda: self._state)
        self.sealed = InMemorySealedValues(self)
        self.locks = InMemoryFleetLocks()
        self._committed = asyncio.Event()
        #: Hands every committed unit of work's stale keys to this process's caches (see ``follow_invalidations``).
        self.invalidation_follower = InMemoryInvalidationFollower()

    def _publish(self, state: State) -> None:
        grew = state.last_position > self._state.last_position
        self._state = state
        if grew:  # wake whoever waits for events, then arm a fresh signal for the next commit
            self._committed.set()
            self._committed = asyncio.Event()

    async def wait_for_events(self, after: int, at_most: float) -> int:
        if self._state.last_position <= after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._committed.wait(), at_most)
        return max(after, self._state.last_position)

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    @contextlib.asynccontextmanager
    async def follow_invalidations(self) -> AsyncIterator[InMemoryInvalidationFollower]:
        yield self.invalidation_follower

    async def ping(self) -> None:
        return None

    def pool_usage(self) -> tuple[int, int]:
        return 0, 0  # no connections in memory

    async def missing_migrations(self) -> set[str]:
        return set()  # nothing to migrate in memory

    async def backlog(self, relay: str) -> Backlog:
        state = self._state
        pending = [d for d in state.deliveries.values() if d.state is DeliveryState.PENDING]
        return Backlog(
            pending_deliveries=len(pending),
            oldest_pending_delivery_at=min((d.created_at for d in pending), default=None),
            failing_subscriptions=sum(1 for w in state.webhooks.values() if w.status is WebhookStatus.FAILING),
            unnumbered_events=0,  # memory numbers events as they are appended
            oldest_unnumbered_event_at=None,
            unrelayed_events=max(0, max(state.last_position, state.pruned_through) - state.consumers.get(relay, 0)),
        )

    async def connections(self, now: datetime) -> ConnectionsHealth:
        state = self._state
        counts: dict[str, dict[str, int]] = {}
        expiries: dict[str, datetime] = {}
        oldest: dict[str, datetime] = {}
        for (tenant_id, kind), sealed in state.credentials.items():
            tenant = state.tenants.get(tenant_id)
            if tenant is None or tenant.status is TenantStatus.DELETED:
                continue
            status = sealed.status or ConnectionStatus()
            health = status.health(now)
            by_health = counts.setdefault(kind, {})
            by_health[health.value] = by_health.get(health.value, 0) + 1
            ends = status.expires_at()
            if ends is not None and health in (TokenHealth.OK, TokenHealth.EXPIRING):  # still working
                expiries[kind] = min(expiries.get(kind, ends), ends)
            checked = last_checked(sealed) or sealed.updated_at
            oldest[kind] = min(oldest.get(kind, checked), checked)
        return ConnectionsHealth(counts=counts, next_expiry=expiries, oldest_check=oldest)
