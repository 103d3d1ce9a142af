"""A reading of the service's own state for monitoring, taken from the store at scrape time."""

from __future__ import annotations

import msgspec

from tenant_core.clock import SystemClock
from tenant_core.connections import TokenHealth
from tenant_core.credential_registry import CREDENTIAL_POLICIES
from tenant_core.errors import UnavailableError
from tenant_core.operations import ConnectionsHealth, OperationsSnapshot
from tenant_core.ports import Cache, Clock, EventBus, OperatedStorage
from tenant_core.security import Permission, Principal
from tenant_core.use_cases.event_relay import BUS_RELAY


class OperationsReport:
    """What ``/metrics`` reports beyond per-process counters. ``bus`` is the relay's broker, if configured."""

    def __init__(
        self, storage: OperatedStorage, cache: Cache, bus: EventBus | None = None, clock: Clock | None = None
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._bus = bus
        self._clock = clock or SystemClock()

    async def snapshot(self, principal: Principal) -> OperationsSnapshot:
        principal.require(Permission.METRICS_READ)
        cache_status = await self._cache.status()
        try:
            backlog = await self._storage.backlog(BUS_RELAY)
            connections = _every_type_and_health(await self._storage.connections(self._clock.now()))
        except UnavailableError:
            backlog = connections = None
        return OperationsSnapshot(
            database_up=backlog is not None,
            cache_status=cache_status,
            backlog=backlog,
            relay_configured=self._bus is not None,
            connections=connections,
        )


def _every_type_and_health(reading: ConnectionsHealth) -> ConnectionsHealth:
    """Every registered credential type with every health, 0 where none is stored: a count that drops to 0
    reads 0 rather than vanishing (alerts and panels see it go)."""
    counts = {name: dict.fromkeys((health.value for health in TokenHealth), 0) for name in CREDENTIAL_POLICIES.names()}
    for kind, by_health in reading.counts.items():
        counts.setdefault(kind, dict.fromkeys((health.value for health in TokenHealth), 0)).update(by_health)
    return msgspec.structs.replace(reading, counts=counts)
