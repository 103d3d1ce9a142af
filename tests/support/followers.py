"""A hand-driven :class:`~tenant_core.ports.InvalidationFollower`, for cache tests that need it late or gapped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence


class FakeFollower:
    """Current until told otherwise; ``announce`` and ``gap`` play what a real feed would deliver."""

    bound = 0.1

    def __init__(self) -> None:
        self.is_current = True
        self._on_stale: list[Callable[[Sequence[str]], None]] = []
        self._on_gap: list[Callable[[], Awaitable[None]]] = []

    def subscribe(self, on_stale: Callable[[Sequence[str]], None], on_gap: Callable[[], Awaitable[None]]) -> None:
        self._on_stale.append(on_stale)
        self._on_gap.append(on_gap)

    def current(self) -> bool:
        return self.is_current

    async def caught_up(self) -> None:
        return None

    def announce(self, keys: Sequence[str]) -> None:
        for on_stale in self._on_stale:
            on_stale(keys)

    async def gap(self) -> None:
        for on_gap in self._on_gap:
            await on_gap()
