"""In-memory adapters: complete, supported implementations for tests and for embedding the core."""

from adapters.memory.cache import InMemoryCache, NoCache
from adapters.memory.genesys import InMemoryGenesysCloud
from adapters.memory.meta_graph import InMemoryMetaGraph
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.storage import InMemoryStorage, InMemoryUnitOfWork
from adapters.memory.tenants import InMemoryTenantRepository
from adapters.memory.webhooks import InMemoryEventBus, InMemoryWebhookSender

__all__ = [
    "InMemoryCache",
    "InMemoryEventBus",
    "InMemoryGenesysCloud",
    "InMemoryMetaGraph",
    "InMemoryRateLimiter",
    "InMemoryStorage",
    "InMemoryTenantRepository",
    "InMemoryUnitOfWork",
    "InMemoryWebhookSender",
    "NoCache",
]
