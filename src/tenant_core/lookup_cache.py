"""Read-through caching of tenants by id and by lookup key, and the invalidation that keeps it honest.

Keys are ``tenant:id:<id>`` and ``tenant:<lookup>:<value lowercased>``. Unknown keys are cached too (a short
negative entry), so a flood of lookups for a number nobody owns does not reach the database. Every write
invalidates the keys of the tenant *before and after* the change, so a moved phone number stops resolving
to its old owner and starts resolving to its new one on the very next request.

A write invalidates in two steps. Inside its unit of work it announces the keys (:meth:`ReadThrough.announce`):
the storage delivers them to every process when, and only if, the transaction commits, even if the writer
dies right after. Once the commit returned it forgets them itself (:meth:`ReadThrough.forget_keys`), so that
this process never reads its own write stale and a shared level (Redis) is right before the write is
acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

import msgspec

from tenant_core.entities import ROUTING_KEYS, Tenant, is_live
from tenant_core.errors import NotFoundError
from tenant_core.ports import Cache, TenantRepository, UnitOfWork

T = TypeVar("T", bound=msgspec.Struct)
_NEGATIVE = b"\x00"  # never valid JSON, so it cannot collide with an encoded value
_encode = msgspec.json.Encoder().encode


def id_key(tenant_id: str) -> str:
    return f"tenant:id:{tenant_id}"


def lookup_key(lookup: str, value: str) -> str:
    return f"tenant:{lookup}:{value.lower()}"


def keys_of(tenants: Iterable[Tenant | None]) -> set[str]:
    """Every cache key under which any of these tenants (old or new versions) may be stored."""
    keys: set[str] = set()
    for tenant in tenants:
        if tenant is None:
            continue
        keys.add(id_key(tenant.id))
        for key in ROUTING_KEYS:
            if (value := getattr(tenant, key.field)) is not None:
                keys.add(lookup_key(key.lookup, value))
    return keys


class ReadThrough(Generic[T]):
    """Cache-aside for one Struct type over the :class:`~tenant_core.ports.Cache` port, misses included."""

    def __init__(
        self, cache: Cache, type_: type[T], ttl_seconds: float = 300.0, negative_ttl_seconds: float = 5.0
    ) -> None:
        self._cache = cache
        self._decode = msgspec.json.Decoder(type_).decode
        self._ttl = ttl_seconds
        self._negative_ttl = negative_ttl_seconds
        self._loading: dict[str, tuple[bytes, asyncio.Future[T | None]]] = {}

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[T | None]]) -> T | None:
        """The cached value, or ``load()``'s. Concurrent misses on one key share a single load, but only
        misses under the same stamp: a load that began before an invalidation may return what that
        invalidation removed, so a reader that came after it loads afresh (and an empty stamp, a cache
        that serves nothing, shares nothing)."""
        cached, stamp = await self._cache.read(key)
        if cached is not None:
            return None if cached == _NEGATIVE else self._decode(cached)
        pending = self._loading.get(key)
        if pending is not None and stamp and pending[0] == stamp:
            return await asyncio.shield(pending[1])
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        loading = (stamp, future)
        if stamp:
            self._loading[key] = loading
        try:
            value = await load()
            if value is None:
                await self._cache.write(key, _NEGATIVE, stamp, self._negative_ttl)
            else:
                await self._cache.write(key, _encode(value), stamp, self._ttl)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # waiters re-raise it; nobody else needs to be told it went unobserved
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._loading.get(key) is loading:
                del self._loading[key]

    async def cached(self, key: str) -> tuple[bool, T | None]:
        """``(True, value)`` when the cache knows the key (``value`` is ``None`` for a known miss), else
        ``(False, None)``. Never loads: for callers that must not wait on the store."""
        cached, _ = await self._cache.read(key)
        if cached is None:
            return False, None
        return True, (None if cached == _NEGATIVE else self._decode(cached))

    @staticmethod
    def announce(uow: UnitOfWork, keys: Iterable[str]) -> list[str]:
        """Announce in ``uow`` that these keys go stale when it commits (every process drops them then);
        returns them for :meth:`forget_keys` once the commit returned."""
        keys = sorted(set(keys))
        uow.invalidations.add(keys)
        return keys

    async def forget_keys(self, keys: Iterable[str]) -> None:
        """Invalidate these keys in this process and the shared level (call after the change committed)."""
        if keys := sorted(set(keys)):
            await self._cache.invalidate(keys)


class TenantCache(ReadThrough[Tenant]):
    """Tenant reads by id and by lookup key."""

    def __init__(self, cache: Cache, ttl_seconds: float = 300.0, negative_ttl_seconds: float = 5.0) -> None:
        super().__init__(cache, Tenant, ttl_seconds, negative_ttl_seconds)

    def announce_tenants(self, uow: UnitOfWork, *tenants: Tenant | None) -> list[str]:
        """:meth:`announce` every key of these tenant versions: before and after a change."""
        return self.announce(uow, keys_of(tenants))


class TenantDirectory:
    """The one answer to "does this tenant exist?", read through the tenant cache.

    ``any`` returns the tenant in whatever status (the audit log and admin views outlive a soft delete);
    ``live`` is the rule for everything that acts on a tenant: unknown and soft-deleted tenants are not found
    (:func:`~tenant_core.entities.is_live`). :attr:`fresh` answers the same from the store, for a use case
    whose decision must not rest on a cached tenant.
    """

    def __init__(self, tenants: TenantRepository, cache: TenantCache | None) -> None:
        """``cache=None`` reads the store every time (that is what :attr:`fresh` is)."""
        self._tenants = tenants
        self._cache = cache
        self._fresh = self if cache is None else TenantDirectory(tenants, None)

    @property
    def fresh(self) -> TenantDirectory:
        """The same answers read from the store, never from a cache: for a decision that does something
        irreversible (registering a number at Meta) or that binds what it read (a Genesys org check)."""
        return self._fresh

    async def any(self, tenant_id: str) -> Tenant | None:
        if self._cache is None:
            return await self._tenants.get(tenant_id)
        return await self._cache.get_or_load(id_key(tenant_id), lambda: self._tenants.get(tenant_id))

    async def live(self, tenant_id: str) -> Tenant:
        tenant = await self.any(tenant_id)
        if tenant is None or not is_live(tenant):
            raise NotFoundError(f"Tenant {tenant_id} not found")
        return tenant
