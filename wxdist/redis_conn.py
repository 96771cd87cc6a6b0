"""One Redis connection pool per URL per process."""

from __future__ import annotations

import functools

import redis


@functools.cache
def redis_client(url: str) -> redis.Redis:
    """A client for `url`; connection errors surface on first use, not here."""
    return redis.Redis.from_url(url)
