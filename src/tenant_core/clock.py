"""The real clock (the :class:`~tenant_core.ports.Clock` port needs nothing but the standard library)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
