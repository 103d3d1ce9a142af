"""Fleet locks in one process's memory: for a fleet of one process (tests, an embedded core)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _Held:
    async def still_held(self) -> bool:
        return True  # held until the block ends: nothing else can take it from a process


class InMemoryFleetLocks:
    """Each name is held by one task at a time; another asking meanwhile is told so at once."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    @asynccontextmanager
    async def try_hold(self, name: str) -> AsyncIterator[_Held | None]:
        if name in self._held:
            yield None
            return
        self._held.add(name)
        try:
            yield _Held()
        finally:
            self._held.discard(name)
