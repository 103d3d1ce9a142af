"""In-process implementation of the :class:`~tenant_core.ports.Cache` port (generation-stamped, bounded)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from tenant_core.no_cache import NoCache
from tenant_core.ports import InvalidationFollower

__all__ = ["InMemoryCache", "NoCache"]


class InMemoryCache:
    """A per-process cache (a service without Redis; the reference for the Redis adapters). Each key has a
    generation that ``invalidate`` bumps, and ``write`` lands only under the reader's stamp, so a slow reader
    cannot put back what an invalidation removed. With a ``follower`` it also drops what other processes'
    committed changes made stale, serves nothing while the follower is not current, and forgets everything
    after a gap: so several processes without Redis can each keep one."""

    def __init__(
        self,
        max_entries: int = 20_000,
        monotonic: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[str, bool], None] | None = None,
        follower: InvalidationFollower | None = None,
    ) -> None:
        """``on_lookup(level, hit)`` is told of every read (for metrics)."""
        self._on_lookup = on_lookup or (lambda level, hit: None)
        self._entries: dict[str, tuple[int, bytes, float]] = {}
        self._generations: dict[str, int] = {}
        self._floor = 0  # generation of every key not in ``_generations``
        self._max_entries = max_entries
        self._now = monotonic
        self._current = follower.current if follower is not None else _always
        if follower is not None:
            follower.subscribe(self._drop, self._gap)

    async def read(self, key: str) -> tuple[bytes | None, bytes]:
        if not self._current():
            self._on_lookup("l1", False)
            return None, b""
        generation = self._generations.get(key, self._floor)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == generation and entry[2] > self._now():
            self._on_lookup("l1", True)
            return entry[1], b"%d" % generation
        self._on_lookup("l1", False)
        return None, b"%d" % generation

    async def write(self, key: str, value: bytes, stamp: bytes, ttl_seconds: float) -> None:
        generation = self._generations.get(key, self._floor)
        if not stamp or int(stamp) != generation:
            return
        if len(self._entries) >= self._max_entries and key not in self._entries:
            self._entries.pop(next(iter(self._entries)))  # oldest insertion first
        self._entries[key] = (generation, value, self._now() + ttl_seconds)

    async def invalidate(self, keys: Iterable[str]) -> None:
        self._drop(keys)

    async def status(self) -> str:
        return "disabled"

    def _drop(self, keys: Iterable[str]) -> None:
        if len(self._generations) >= self._max_entries:
            self._forget_everything()  # keeps the table bounded
        for key in keys:
            self._generations[key] = self._generations.get(key, self._floor) + 1
            self._entries.pop(key, None)

    async def _gap(self) -> None:
        self._forget_everything()

    def _forget_everything(self) -> None:
        """Empty the cache and move every key past all stamps handed out, so that no old stamp writes again."""
        self._floor = max(self._generations.values(), default=self._floor) + 1
        self._generations.clear()
        self._entries.clear()


def _always() -> bool:
    return True
