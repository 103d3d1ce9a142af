"""Clocks for the :class:`~tenant_core.ports.Clock` port: the real one, and one you set (standard library only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """The real time, in UTC: what production wires in."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that tells the time you set, for tests and in-memory embedding.

    It starts at ``start`` (the current time when not given) and moves only when you :meth:`set` or
    :meth:`advance` it, or by ``tick`` after each reading: a small tick keeps things created one after another
    in that order, as the real clock would.
    """

    def __init__(self, start: datetime | None = None, tick: timedelta = timedelta(0)) -> None:
        self._now = start or datetime.now(UTC)
        self._tick = tick
        if self._now.tzinfo is None:
            raise ValueError("a ManualClock tells aware times: give start a tzinfo (UTC)")

    def now(self) -> datetime:
        """The current time; the clock then moves on by its tick."""
        now = self._now
        self._now += self._tick
        return now

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (backwards too: a clock step is a case worth testing)."""
        if at.tzinfo is None:
            raise ValueError("a ManualClock tells aware times: give a tzinfo (UTC)")
        self._now = at

    def advance(self, by: timedelta | float) -> None:
        """Move forward by ``by`` (a timedelta, or seconds)."""
        self._now += by if isinstance(by, timedelta) else timedelta(seconds=by)
