"""A reading of the service's own state for monitoring, taken from the store at scrape time."""

from __future__ import annotations

from tenant_core.errors import UnavailableError
from tenant_core.operations import OperationsSnapshot
from tenant_core.ports import Cache, EventBus, OperatedStorage
from tenant_core.security import Permission, Principal
from tenant_core.use_cases.event_relay import BUS_RELAY


class OperationsReport:
    """What ``/metrics`` reports beyond per-process counters. ``bus`` is the relay's broker, if configured."""

    def __init__(self, storage: OperatedStorage, cache: Cache, bus: EventBus | None = None) -> None:
        self._storage = storage
        self._cache = cache
        self._bus = bus

    async def snapshot(self, principal: Principal) -> OperationsSnapshot:
        principal.require(Permission.METRICS_READ)
        cache_status = await self._cache.status()
        try:
            backlog = await self._storage.backlog(BUS_RELAY)
        except UnavailableError:
            backlog = None
        return OperationsSnapshot(
            database_up=backlog is not None,
            cache_status=cache_status,
            backlog=backlog,
            relay_configured=self._bus is not None,
        )
