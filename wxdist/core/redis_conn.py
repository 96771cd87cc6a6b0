"""Redis for the app: one client per URL per process, short timeouts, and what every caller
does when Redis is unreachable.

Redis is a cache and a queue here, never the book of record: the database is. So a Redis
that is down (connection refused, a timeout) must not stop login, browsing, ordering, paying
or the panel, and nothing the database committed may answer 500. The policy, one line per
place a request touches Redis:

- WeChat access token (`wxdist.core.gateways.token_storage`): a copy is kept in this process's
  memory and read from there; a missing one is fetched by this process. WeChat keeps an
  old token valid 5 minutes after a new one, and a rejected token is refreshed once, so
  processes holding different tokens cost at worst one extra fetch.
- Panel sign-in limits (`wxdist.panel.auth_views`): counted in this process's memory,
  per-process limits until Redis is back.
- Per-key media locks (`wxdist.core.media.key_lock`): the host's file lock; at worst two hosts
  fetch one mini-program code once each (stored idempotently).
- Attribution after a payment (`attribution_queue.order_paid`): the order stays paid
  and unattributed in the database; the process remembers the id and pushes it again (with
  a drain job) within a second of Redis answering, a repeated notify re-queues it, and the
  `attribute_missed` sweep is the backstop.
- Jobs (`wxdist.core.tasks.enqueue`), as each job's `@job(if_down=...)` declares: work no
  sweep would recover runs inline (as without Redis: an orphan payment's refund); work a
  sweep recovers is logged and left to it (payouts: `resume_payouts`; poster predraw: the
  first request draws).

Timeouts: CONNECT_TIMEOUT to connect, READ_TIMEOUT per command, one immediate retry (a pooled
connection broken by a Redis restart reconnects). After a connection error or a timeout the
URL is marked down for DOWN_SECONDS: connections fail at once meanwhile instead of each
request waiting out the timeouts again, so a dead Redis costs a request milliseconds.
RQ workers started by `rq worker --url` build their own connection (their blocking pops need
long reads); code on a worker uses these clients like a web process.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.retry import Retry

CONNECT_TIMEOUT = 0.5  # seconds
READ_TIMEOUT = 2.0  # seconds, per command
DOWN_SECONDS = 1.0

# What "Redis is unreachable" raises (redis.TimeoutError is not a ConnectionError).
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

_down_until: dict[tuple[Any, ...], float] = {}
_down_lock = threading.Lock()


def _mark_down(address: tuple[Any, ...]) -> None:
    with _down_lock:
        _down_until[address] = time.monotonic() + DOWN_SECONDS


def is_down(address: tuple[Any, ...]) -> bool:
    return _down_until.get(address, 0.0) > time.monotonic()


class _Guarded:
    """A connection that fails at once while its server is marked down, and marks it down
    when connecting or reading fails."""

    def _address(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name, None) for name in ("host", "port", "path"))

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        # Every (re)connect of redis-py goes through here.
        address = self._address()
        if getattr(self, "_sock", None) is None and is_down(address):
            raise redis.exceptions.ConnectionError("Redis was unreachable a moment ago")
        try:
            super().connect_check_health(*args, **kwargs)  # type: ignore[misc]
        except UNAVAILABLE:
            _mark_down(address)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except UNAVAILABLE:
            _mark_down(self._address())
            raise


class GuardedConnection(_Guarded, Connection):
    pass


class GuardedSSLConnection(_Guarded, SSLConnection):
    pass


class GuardedUnixConnection(_Guarded, UnixDomainSocketConnection):
    pass


_CLASSES = {
    "redis": GuardedConnection,
    "rediss": GuardedSSLConnection,
    "unix": GuardedUnixConnection,
}


@functools.cache
def redis_client(url: str) -> redis.Redis:
    """A client for `url` with short timeouts; connection errors surface on first use (as
    one of UNAVAILABLE), not here."""
    scheme = url.partition("://")[0]
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=READ_TIMEOUT,
        retry=Retry(NoBackoff(), 1),
        connection_class=_CLASSES.get(scheme, GuardedConnection),
    )
