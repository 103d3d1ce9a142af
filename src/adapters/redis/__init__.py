"""Redis adapters."""

from adapters.redis.cache import RedisCache

__all__ = ["RedisCache"]
