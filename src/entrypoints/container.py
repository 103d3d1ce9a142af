"""The one composition root: builds every adapter and use case from :class:`~entrypoints.config.Config`.

Nothing here connects at import time; resources open in the app's lifespan (``init_resources``) and close
in its shutdown. Tests replace a provider with ``container.storage.override(...)`` instead of patching.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from dependency_injector import containers, providers

from adapters.memory import InMemoryCache
from adapters.postgres import PostgresStorage, create_pool
from adapters.redis import RedisCache
from tenant_core import GenesysProvisioning, SystemClock, TenantCache, TenantResolver, TenantService
from tenant_core.ports import Cache


async def open_storage(dsn: str, pool_max: int) -> AsyncIterator[PostgresStorage]:
    pool = await create_pool(dsn, max_size=pool_max)
    try:
        yield PostgresStorage(pool)
    finally:
        await pool.close()


async def open_cache(url: str | None) -> AsyncIterator[Cache]:
    if not url:
        yield InMemoryCache()
        return
    cache = RedisCache.from_url(url)
    try:
        yield cache
    finally:
        await cache.close()


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    storage = providers.Resource(open_storage, dsn=config.database_url, pool_max=config.db_pool_max)
    cache = providers.Resource(open_cache, url=config.redis_url)
    clock = providers.Singleton(SystemClock)

    tenant_cache = providers.Singleton(TenantCache, cache=cache)
    tenants = providers.Singleton(TenantService, storage=storage, cache=tenant_cache, clock=clock)
    resolver = providers.Singleton(TenantResolver, tenants=storage.provided.tenants, cache=tenant_cache)
    provisioning = providers.Singleton(GenesysProvisioning, storage=storage, cache=tenant_cache, clock=clock)
