"""The process-wide Redis client."""

from __future__ import annotations

import redis

from app.core.config import settings

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.redis_url, decode_responses=True, health_check_interval=30)
    return _client


def set_redis(client: redis.Redis | None) -> None:
    global _client
    _client = client
