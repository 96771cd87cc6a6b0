"""Hand work to the job queue: RQ on Redis when `REDIS_URL` is set, else run it inline.

Jobs are named by dotted path (`"jobs.orders.order_paid"`) and take ids, never ORM objects.
Inline, the job runs in the caller's app context after the caller committed; like a job
failing on a worker, a failing inline job is logged and does not fail the caller (the
periodic sweeps pick up what it left, as they do for RQ).

When Redis is unreachable (see the policy in `wxdist.core.redis_conn`) a caller chooses with
`if_down`: INLINE (the default) runs the job here and now, as without Redis, for work no
sweep would recover (an orphan payment's refund); SWEEP logs it and leaves it to the sweep
that recovers it (payouts: `resume_payouts`; poster predraw: the first request draws);
RAISE lets the caller handle one of `redis_conn.UNAVAILABLE` itself. A timeout may hide an
enqueue that did reach Redis: jobs are idempotent, so running one twice does no harm.
"""

from __future__ import annotations

import functools
import importlib
import logging
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"
INLINE, SWEEP, RAISE = "inline", "sweep", "raise"  # `if_down` choices
QUEUES = ("default", "payouts")


def enqueue(
    func_path: str,
    *args: Any,
    queue: str = DEFAULT_QUEUE,
    retry_intervals: tuple[int, ...] = (),
    if_down: str = INLINE,
    **options: Any,
) -> bool:
    """Run `func_path(*args)` now (inline) or on an RQ worker. `retry_intervals` (seconds)
    become RQ's Retry; `options` go to RQ (job_id, job_timeout, ...). Both are ignored
    inline. `if_down` says what happens when Redis is unreachable (module docstring).
    Returns False when the job was left to a sweep, else True."""
    if current_app.config["INLINE_JOBS"]:
        _run_inline(func_path, args)
        return True
    if retry_intervals:
        from rq import Retry

        options["retry"] = Retry(max=len(retry_intervals), interval=list(retry_intervals))
    from wxdist.core.redis_conn import UNAVAILABLE

    try:
        target = rq_queue(queue)
        # One round trip (MULTI … EXEC) instead of RQ's two: the queue's registration and
        # the job's save and push go in one transaction.
        pipe = target.connection.pipeline()
        target.enqueue(func_path, *args, pipeline=pipe, **options)
        pipe.execute()
    except UNAVAILABLE as exc:
        if if_down == RAISE:
            raise
        if if_down == SWEEP:
            log.warning("Redis unreachable (%s): job %s%r left to its sweep", exc, func_path, args)
            return False
        log.warning("Redis unreachable (%s): running job %s%r inline", exc, func_path, args)
        _run_inline(func_path, args)
    return True


def _run_inline(func_path: str, args: tuple[Any, ...]) -> None:
    """Run the job in this process; like a failed RQ job, a failure is logged, not raised."""
    module_name, _, name = func_path.rpartition(".")
    try:
        getattr(importlib.import_module(module_name), name)(*args)
    except Exception:
        log.exception("inline job %s%r failed", func_path, args)


def rq_queue(name: str = DEFAULT_QUEUE):  # type: ignore[no-untyped-def]
    """The RQ queue `name` on the app's Redis (one object per URL and name per process)."""
    return _queue(current_app.config["REDIS_URL"], name)


@functools.cache
def _queue(url: str, name: str):  # type: ignore[no-untyped-def]
    from rq import Queue

    from wxdist.core.redis_conn import redis_client

    return Queue(name, connection=redis_client(url))
