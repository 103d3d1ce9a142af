"""In-memory adapters: complete, supported implementations for tests and for embedding the core."""

from adapters.memory.cache import InMemoryCache
from adapters.memory.tenants import InMemoryStorage, InMemoryTenantRepository, InMemoryUnitOfWork

__all__ = ["InMemoryCache", "InMemoryStorage", "InMemoryTenantRepository", "InMemoryUnitOfWork"]
