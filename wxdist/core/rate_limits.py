"""Fixed-window rate limits (the `limits` package): in Redis when REDIS_URL is set (shared
by every process), else, and while Redis is unreachable, in this process's memory (policy:
`wxdist.core.redis_conn`). Used by the panel's sign-in throttle and the open API."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from limits import RateLimitItem
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)


class Limiter:
    """Counts per key and limit; every method falls back to memory when Redis fails."""

    def __init__(self, redis_url: str | None, purpose: str) -> None:
        self.purpose = purpose
        self.memory = FixedWindowRateLimiter(MemoryStorage())
        self.shared: FixedWindowRateLimiter | None = None
        if redis_url:
            from wxdist.core.redis_conn import redis_client

            pool = redis_client(redis_url).connection_pool  # short timeouts, one pool
            self.shared = FixedWindowRateLimiter(
                storage_from_string(redis_url, connection_pool=pool)
            )

    def _call(self, method: str, *args: Any) -> Any:
        if self.shared is not None:
            from wxdist.core.redis_conn import UNAVAILABLE

            try:
                return getattr(self.shared, method)(*args)
            except UNAVAILABLE as exc:
                log.warning("Redis unreachable (%s): %s limits in this process", exc, self.purpose)
        return getattr(self.memory, method)(*args)

    def test(self, limit: RateLimitItem, key: str) -> bool:
        """Whether `key` may still take one more of `limit` (nothing counted)."""
        return bool(self._call("test", limit, key))

    def hit(self, limit: RateLimitItem, key: str) -> bool:
        """Count one for `key`; False when that went over `limit` (then it is not counted)."""
        return bool(self._call("hit", limit, key))

    def used(self, limit: RateLimitItem, key: str) -> int:
        """How much of `limit` the window of `key` has used."""
        return int(limit.amount - self._call("get_window_stats", limit, key).remaining)

    def reset_at(self, limit: RateLimitItem, key: str) -> float:
        """When the window of `key` ends (epoch seconds)."""
        return float(self._call("get_window_stats", limit, key).reset_time)


def app_limiter(purpose: str) -> Limiter:
    """The app's limiter for `purpose` (one per app and purpose)."""
    name = f"{purpose}_limiter"
    limiter = current_app.extensions.get(name)
    if limiter is None:
        limiter = Limiter(current_app.config.get("REDIS_URL"), purpose)
        current_app.extensions[name] = limiter
    return limiter
