"""Redis adapters: the shared cache and the shared rate limiter."""

from adapters.redis.cache import RedisCache
from adapters.redis.rate_limiter import RedisRateLimiter

__all__ = ["RedisCache", "RedisRateLimiter"]
