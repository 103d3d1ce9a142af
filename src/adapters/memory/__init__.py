"""In-memory adapters: complete, supported implementations for tests and for embedding the core."""

from adapters.memory.cache import InMemoryCache, NoCache
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.tenants import InMemoryStorage, InMemoryTenantRepository, InMemoryUnitOfWork

__all__ = [
    "InMemoryCache",
    "InMemoryRateLimiter",
    "InMemoryStorage",
    "InMemoryTenantRepository",
    "InMemoryUnitOfWork",
    "NoCache",
]
