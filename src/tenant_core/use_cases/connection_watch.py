"""Connections checked continuously: every stored connection is checked again once its last check is a period
old, by one process of the fleet at a time.

Which connections are due is read from the store (each credential keeps its last check), so the schedule is
the same for every process, survives restarts, and counts checks asked for by hand. A sweep takes the fleet
lock, checks what is due (at most ``concurrency`` at a time, up to ``batch`` connections), and lets go; a
process that finds the lock taken does nothing. What a check learns, and the news it makes
(``connection.failed``, ``connection.recovered``, ``whatsapp.token_expiring``), is recorded by
:class:`~tenant_core.use_cases.connections.ConnectionChecks` as for any check.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import msgspec

from tenant_core.errors import TenantServiceError
from tenant_core.ports import Clock, FleetLocks, HeldLock, Storage
from tenant_core.security import Principal, Role
from tenant_core.use_cases.connections import ConnectionChecks

#: Who the scheduled checks act as: named in the audit log of what they change or announce.
WATCHER = Principal(subject="connection-watch", role=Role.ADMIN)
#: The fleet lock a sweep holds.
WATCH_LOCK = "connection-watch"


class CheckFailure(msgspec.Struct, frozen=True):
    """A check that could not run at all (credentials that no key opens, a tenant deleted meanwhile)."""

    tenant_id: str
    kind: str  # the credential type
    reason: str


class SweepReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one sweep did: connections checked, how many of those checks failed, and checks that could not run."""

    checked: int
    failed: int
    errors: list[CheckFailure]


class ConnectionWatch:
    """Re-checks every stored connection whose last check is older than the interval, a few at a time, by one
    instance of the fleet at a time (a lock the database holds for it); the checks announce health changes."""

    def __init__(
        self,
        storage: Storage,
        checks: ConnectionChecks,
        locks: FleetLocks,
        clock: Clock,
        every: timedelta,
        concurrency: int = 4,
        batch: int = 1000,
    ) -> None:
        """``every``: how old a connection's last check may get. ``batch`` bounds one sweep, so the lock changes
        hands between sweeps however many connections there are."""
        self._storage = storage
        self._checks = checks
        self._locks = locks
        self._clock = clock
        self._every = every
        self._concurrency = concurrency
        self._batch = batch
        self._resting: dict[tuple[str, str], datetime] = {}  # checks that could not run, until when

    @property
    def every(self) -> timedelta:
        return self._every

    async def sweep(self) -> SweepReport | None:
        """Check every connection that is due, unless another process is sweeping (``None`` then).

        A check that cannot run is reported, and not tried again by this process for a period (it would fail
        the same way on every sweep). Kinds that cannot be checked here (WhatsApp without a Meta app) are left
        alone."""
        async with self._locks.try_hold(WATCH_LOCK) as held:
            if held is None:
                return None
            now = self._clock.now()
            kinds = self._checks.checkable()
            due = await self._storage.credentials.due_for_check(now - self._every, kinds, self._batch)
            due = [target for target in due if self._resting.get(target, now) <= now]
            limit = asyncio.Semaphore(self._concurrency)
            outcomes = await asyncio.gather(*(self._check(target, limit, held) for target in due))
        self._resting = {target: until for target, until in self._resting.items() if until > now}
        errors = [outcome for outcome in outcomes if isinstance(outcome, CheckFailure)]
        for error in errors:
            self._resting[(error.tenant_id, error.kind)] = now + self._every
        checked = [outcome for outcome in outcomes if isinstance(outcome, bool)]
        return SweepReport(checked=len(checked), failed=checked.count(False), errors=errors)

    async def _check(
        self, target: tuple[str, str], limit: asyncio.Semaphore, held: HeldLock
    ) -> bool | CheckFailure | None:
        """``True``/``False``: the check passed or failed; ``None``: not run, the lock was lost."""
        tenant_id, kind = target
        async with limit:
            if not await held.still_held():
                return None  # another process may be sweeping now: leave the rest to it
            try:
                return (await self._checks.verify(WATCHER, tenant_id, kind)).ok
            except TenantServiceError as exc:
                return CheckFailure(tenant_id, kind, exc.message)
