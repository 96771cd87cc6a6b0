"""RQ entry points: thin functions that take ids, open an app context and call a service.

Each job declares how it runs (queue, retries, timeout, what happens with Redis down) with
`@job` from `wxdist.core.tasks`; callers only `enqueue` it by its dotted name.
A job raises on failure so RQ can retry it; none swallows exceptions.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flask import Flask, has_app_context

_app: Flask | None = None
_lock = threading.Lock()


def preload_app() -> Flask:
    """Build this process's app now (a worker parent does, so forked jobs inherit it)."""
    global _app
    with _lock:
        if _app is None:
            from wxdist import create_app

            _app = create_app()
    return _app


@contextlib.contextmanager
def app_context() -> Iterator[None]:
    """Reuse the caller's app context (inline jobs) or one app per worker process."""
    if has_app_context():
        yield
        return
    with preload_app().app_context():
        yield
