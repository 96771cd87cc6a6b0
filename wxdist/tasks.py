"""Hand work to the job queue: RQ on Redis when `REDIS_URL` is set, else run it inline.

Jobs are named by dotted path (`"jobs.orders.order_paid"`) and take ids, never ORM objects.
Inline, the job runs in the caller's app context after the caller committed; like a job
failing on a worker, a failing inline job is logged and does not fail the caller (the
periodic sweeps pick up what it left, as they do for RQ).
"""

from __future__ import annotations

import functools
import importlib
import logging
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"
QUEUES = ("default", "payouts")


def enqueue(
    func_path: str,
    *args: Any,
    queue: str = DEFAULT_QUEUE,
    retry_intervals: tuple[int, ...] = (),
    **options: Any,
) -> None:
    """Run `func_path(*args)` now (inline) or on an RQ worker. `retry_intervals` (seconds)
    become RQ's Retry; `options` go to RQ (job_id, job_timeout, ...). Both are ignored
    inline."""
    if current_app.config["INLINE_JOBS"]:
        module_name, _, name = func_path.rpartition(".")
        try:
            getattr(importlib.import_module(module_name), name)(*args)
        except Exception:
            log.exception("inline job %s%r failed", func_path, args)
        return
    if retry_intervals:
        from rq import Retry

        options["retry"] = Retry(max=len(retry_intervals), interval=list(retry_intervals))
    target = rq_queue(queue)
    # One round trip (MULTI … EXEC) instead of RQ's two: the queue's registration and the
    # job's save and push go in one transaction.
    pipe = target.connection.pipeline()
    target.enqueue(func_path, *args, pipeline=pipe, **options)
    pipe.execute()


def rq_queue(name: str = DEFAULT_QUEUE):  # type: ignore[no-untyped-def]
    """The RQ queue `name` on the app's Redis (one object per URL and name per process)."""
    return _queue(current_app.config["REDIS_URL"], name)


@functools.cache
def _queue(url: str, name: str):  # type: ignore[no-untyped-def]
    from rq import Queue

    from wxdist.redis_conn import redis_client

    return Queue(name, connection=redis_client(url))
