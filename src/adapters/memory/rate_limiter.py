"""In-process fixed-window rate limiter (one process's view; Redis shares counts across processes)."""

from __future__ import annotations

import time
from collections.abc import Callable


class InMemoryRateLimiter:
    """The :class:`~tenant_core.ports.RateLimiter` port in one process: a count per key and fixed window."""

    def __init__(self, clock: Callable[[], float] = time.time, share_of: int = 1) -> None:
        """``share_of``: how many processes count the same limit, each on its own. Each hit then weighs
        that many, so that each process admits its share and together they admit about the limit."""
        self._counts: dict[tuple[str, int], int] = {}
        self._clock = clock
        self._weight = max(1, share_of)

    async def hit(self, key: str, limit: int, window_seconds: int) -> tuple[int, int]:
        now = self._clock()
        window = int(now // window_seconds)
        if len(self._counts) > 10_000:  # drop finished windows
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
        count = self._counts.get((key, window), 0) + self._weight
        self._counts[(key, window)] = count
        return count, int((window + 1) * window_seconds - now) + 1
