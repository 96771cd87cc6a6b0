"""Hand work to the job queue: RQ on Redis when `REDIS_URL` is set, else run it inline.

Jobs are named by dotted path (`"jobs.orders.order_paid"`) and take ids, never ORM objects.
Inline, the job runs in the caller's app context after the caller committed; an exception
propagates to the caller, as it would fail the job in RQ.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import current_app

DEFAULT_QUEUE = "default"


def enqueue(func_path: str, *args: Any, queue: str = DEFAULT_QUEUE, **options: Any) -> None:
    """Run `func_path(*args)` now (inline) or on an RQ worker. `options` go to RQ
    (retry, job_id, job_timeout, ...) and are ignored inline."""
    if current_app.config["INLINE_JOBS"]:
        module_name, _, name = func_path.rpartition(".")
        getattr(importlib.import_module(module_name), name)(*args)
        return
    rq_queue(queue).enqueue(func_path, *args, **options)


def rq_queue(name: str = DEFAULT_QUEUE):  # type: ignore[no-untyped-def]
    from rq import Queue

    from wxdist.redis_conn import redis_client

    return Queue(name, connection=redis_client(current_app.config["REDIS_URL"]))
