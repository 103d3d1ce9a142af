"""Redis adapters: the shared cache and the shared rate limiter."""

from adapters.redis.cache import RedisCache
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.tiered import TieredCache

__all__ = ["RedisCache", "RedisRateLimiter", "TieredCache"]
