"""The :class:`~tenant_core.ports.Cache` port's null object: it holds nothing, so every read goes to storage."""

from __future__ import annotations

from collections.abc import Iterable


class NoCache:
    """Caches nothing. For several worker processes without Redis (per-process caches could not be invalidated
    across workers, so correctness wins over speed), and for a dry run that must leave the running service's
    caches alone."""

    async def read(self, key: str) -> tuple[bytes | None, bytes]:
        return None, b""

    async def write(self, key: str, value: bytes, stamp: bytes, ttl_seconds: float) -> None:
        return None

    async def invalidate(self, keys: Iterable[str]) -> None:
        return None

    async def status(self) -> str:
        return "disabled"
