"""In-process fixed-window rate limiter (one process's view; Redis shares counts across processes)."""

from __future__ import annotations

import time
from collections.abc import Callable


class InMemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._clock = clock

    async def hit(self, key: str, limit: int, window_seconds: int) -> tuple[int, int]:
        now = self._clock()
        window = int(now // window_seconds)
        if len(self._counts) > 10_000:  # drop finished windows
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
        count = self._counts.get((key, window), 0) + 1
        self._counts[(key, window)] = count
        return count, int((window + 1) * window_seconds - now) + 1
