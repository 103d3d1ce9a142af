"""The event feed: what changed, in commit order, for consumers that keep their own place in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import msgspec

from tenant_core.change_events import ChangeEvent, checked_event_types
from tenant_core.errors import CursorExpiredError
from tenant_core.paging import MAX_PAGE_SIZE, feed_position, page_size
from tenant_core.ports import Storage
from tenant_core.security import Permission, Principal, Role

#: How long events stay in the feed unless configured otherwise.
DEFAULT_RETENTION = timedelta(days=30)


class EventPage(msgspec.Struct, frozen=True):
    """A page of the feed and the cursor to continue from (``next``, passed back as ``after``)."""

    events: list[ChangeEvent]
    next: str  # pass as ``after`` to continue: the last event's position, or the cursor given when none came


class EventFeed:
    """The change feed: events in commit order after a cursor, filtered by type and tenant, with retention."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def read(
        self,
        principal: Principal,
        after: str | None = None,
        limit: int = MAX_PAGE_SIZE,
        types: list[str] | None = None,
        tenant_id: str | None = None,
    ) -> EventPage:
        """Events after the cursor ``after`` (from the start of retention without one), oldest first.

        A tenant principal reads only its own events. A cursor older than retention is refused with
        :class:`CursorExpiredError` rather than silently skipping what was pruned.
        """
        tenant_id = self._visible_tenant(principal, tenant_id)
        size = page_size(limit)
        wanted = _event_types(types)
        await self.sequence(wait=True)  # a read sees every event committed before it
        horizon = await self._storage.events.horizon()
        position = horizon if after is None else feed_position(after)
        if position < horizon:
            raise CursorExpiredError(
                f"Events after {position} are past retention (the feed starts after {horizon}); "
                "read from the start, without a cursor, and rebuild from current state"
            )
        events = await self._storage.events.read(position, size, wanted, tenant_id)
        last = events[-1].position if events else position
        return EventPage(events=events, next=str(last))

    async def follow(
        self,
        principal: Principal,
        after: str | None = None,
        types: list[str] | None = None,
        tenant_id: str | None = None,
        poll_seconds: float = 1.0,
    ) -> AsyncIterator[ChangeEvent]:
        """Every event after ``after``, then each new one as it commits, for ever (in-process subscribers)."""
        cursor = after
        while True:
            page = await self.read(principal, cursor, MAX_PAGE_SIZE, types, tenant_id)
            for event in page.events:
                yield event
            cursor = page.next
            if not page.events:
                await self._storage.wait_for_events(int(cursor), poll_seconds)

    async def sequence(self, wait: bool = False, batch: int = 1000) -> int:
        """Give newly committed events their feed positions (the event worker of every ``serve`` process runs
        this, and every read does first, with ``wait``: it queues behind a sequencer already running)."""
        if not wait:
            return await self._storage.events.sequence(batch=batch)
        async with self._storage.unit_of_work() as uow:
            return await uow.events.sequence(wait, batch)

    async def prune(self, now: datetime, retention: timedelta = DEFAULT_RETENTION) -> int:
        """Drop events older than ``retention`` (any worker may run it; it is idempotent)."""
        return await self._storage.events.prune(now - retention)

    @staticmethod
    def _visible_tenant(principal: Principal, tenant_id: str | None) -> str | None:
        if principal.role is Role.TENANT:
            tenant_id = tenant_id or principal.tenant_id
        principal.require(Permission.EVENTS_READ, tenant_id)
        return tenant_id


def _event_types(types: list[str] | None) -> frozenset[str] | None:
    if not types:
        return None
    names = {name.strip() for listed in types for name in listed.split(",") if name.strip()}
    return checked_event_types(names, "type") or None
