"""In-process cache invalidations: the reference for the Postgres follower (``tenant_adapters.postgres``).

A unit of work collects the keys it makes stale; the storage hands them to its follower when the unit of work
commits, before the commit returns. In one process nothing can be missed or late, so the follower is always
current.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence


class InMemoryCacheInvalidations:
    """The keys one unit of work makes stale, announced only if it commits."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def add(self, keys: Iterable[str]) -> None:
        self.keys.extend(keys)


class InMemoryInvalidationFollower:
    """Delivers each committed announcement to every subscriber at once, in the committing call."""

    bound = 0.0

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Sequence[str]], None]] = []

    def subscribe(self, on_stale: Callable[[Sequence[str]], None], on_gap: Callable[[], Awaitable[None]]) -> None:
        self._subscribers.append(on_stale)  # nothing is ever missed in one process: on_gap is never called

    def current(self) -> bool:
        return True

    async def caught_up(self) -> None:
        return None  # delivered before the commit returned

    def deliver(self, keys: Sequence[str]) -> None:
        """Called by the storage when a unit of work that announced ``keys`` commits."""
        if keys:
            for on_stale in self._subscribers:
                on_stale(keys)
