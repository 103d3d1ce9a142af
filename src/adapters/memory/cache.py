"""In-process implementation of the :class:`~tenant_core.ports.Cache` port (generation-stamped, bounded)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from tenant_core.no_cache import NoCache

__all__ = ["InMemoryCache", "NoCache"]


class InMemoryCache:
    """A per-process cache. Used when no Redis is configured, and as the reference for the Redis adapter.

    Each key has a generation; ``invalidate`` bumps it, and ``write`` only lands when the writer's stamp
    still matches, so a slow reader cannot put back what an invalidation removed.
    """

    def __init__(
        self,
        max_entries: int = 20_000,
        monotonic: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[str, bool], None] | None = None,
    ) -> None:
        """``on_lookup(level, hit)`` is told of every read (for metrics)."""
        self._on_lookup = on_lookup or (lambda level, hit: None)
        self._entries: dict[str, tuple[int, bytes, float]] = {}
        self._generations: dict[str, int] = {}
        self._floor = 0  # generation of every key not in ``_generations``
        self._max_entries = max_entries
        self._now = monotonic

    async def read(self, key: str) -> tuple[bytes | None, bytes]:
        generation = self._generations.get(key, self._floor)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == generation and entry[2] > self._now():
            self._on_lookup("l1", True)
            return entry[1], b"%d" % generation
        self._on_lookup("l1", False)
        return None, b"%d" % generation

    async def write(self, key: str, value: bytes, stamp: bytes, ttl_seconds: float) -> None:
        generation = self._generations.get(key, self._floor)
        if int(stamp) != generation:
            return
        if len(self._entries) >= self._max_entries and key not in self._entries:
            self._entries.pop(next(iter(self._entries)))  # oldest insertion first
        self._entries[key] = (generation, value, self._now() + ttl_seconds)

    async def invalidate(self, keys: Iterable[str]) -> None:
        if len(self._generations) >= self._max_entries:
            # Forget per-key generations by moving every key past all stamps handed out so far:
            # the table stays bounded and no old stamp can ever write again.
            self._floor = max(self._generations.values()) + 1
            self._generations.clear()
            self._entries.clear()
        for key in keys:
            self._generations[key] = self._generations.get(key, self._floor) + 1
            self._entries.pop(key, None)

    async def status(self) -> str:
        return "disabled"
