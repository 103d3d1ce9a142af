"""Redis adapters: the shared cache level and the shared rate limiter."""

from tenant_adapters.redis.cache import RedisCache
from tenant_adapters.redis.rate_limiter import RedisRateLimiter
from tenant_adapters.redis.tiered import TieredCache

__all__ = ["RedisCache", "RedisRateLimiter", "TieredCache"]
