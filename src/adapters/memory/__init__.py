"""In-memory adapters: complete, supported implementations for tests and for embedding the core."""

from tenant_adapters.memory.cache import InMemoryCache
from tenant_adapters.memory.genesys import InMemoryGenesysCloud
from tenant_adapters.memory.invalidations import InMemoryCacheInvalidations, InMemoryInvalidationFollower
from tenant_adapters.memory.meta_graph import InMemoryMetaGraph
from tenant_adapters.memory.rate_limiter import InMemoryRateLimiter
from tenant_adapters.memory.storage import InMemoryStorage, InMemoryUnitOfWork
from tenant_adapters.memory.tenants import InMemoryTenantRepository
from tenant_adapters.memory.webhooks import InMemoryEventBus, InMemoryWebhookSender

__all__ = [
    "InMemoryCache",
    "InMemoryCacheInvalidations",
    "InMemoryEventBus",
    "InMemoryGenesysCloud",
    "InMemoryInvalidationFollower",
    "InMemoryMetaGraph",
    "InMemoryRateLimiter",
    "InMemoryStorage",
    "InMemoryTenantRepository",
    "InMemoryUnitOfWork",
    "InMemoryWebhookSender",
]
