"""Hand work to the job queue: RQ on Redis when `REDIS_URL` is set, else run it inline.

Jobs are named by dotted path (`"jobs.orders.order_paid"`, also their RQ name) and take ids,
never ORM objects. Each job declares how it runs with `@job` (its queue, retries, timeout
and `if_down`), next to its code in `jobs/`; callers only `enqueue(name, *ids)`. The lower
layers may not import `jobs`, so `enqueue` finds a declaration by the job's name, the way
RQ's worker finds the function (importing its module).
Inline, the job runs in the caller's app context after the caller committed; like a job
failing on a worker, a failing inline job is logged and does not fail the caller (the
periodic sweeps pick up what it left, as they do for RQ).

When Redis is unreachable (see the policy in `wxdist.core.redis_conn`) the job's `if_down`
says what happens: INLINE (the default) runs the job here and now, as without Redis, for
work no sweep would recover (an orphan payment's refund); SWEEP logs it and leaves it to
the sweep that recovers it (payouts: `resume_payouts`; poster predraw: the first request
draws); RAISE lets the caller handle one of `redis_conn.UNAVAILABLE` itself. A timeout may hide an
enqueue that did reach Redis: jobs are idempotent, so running one twice does no harm.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"
INLINE, SWEEP, RAISE = "inline", "sweep", "raise"  # `if_down` choices
QUEUES = ("default", "payouts")  # what workers listen to (README: `rq worker ...`)


Job = TypeVar("Job", bound=Callable[..., Any])


@dataclass(frozen=True)
class JobSpec:
    """How a job runs, as its `@job` declares it."""

    name: str  # dotted path: the RQ job's name, stable across deploys
    queue: str = DEFAULT_QUEUE
    retries: tuple[int, ...] = ()  # seconds to wait before each retry; RQ's Retry
    timeout: int | None = None  # seconds; None: RQ's default
    if_down: str = INLINE  # what `enqueue` does when Redis is unreachable


def job(
    *,
    queue: str = DEFAULT_QUEUE,
    retries: tuple[int, ...] = (),
    timeout: int | None = None,
    if_down: str = INLINE,
) -> Callable[[Job], Job]:
    """Declare the decorated function a job: `spec(fn)` or `enqueue` read these options.
    The function is returned unchanged (RQ and inline mode call it by its dotted name).
    Raises ValueError for a queue no worker listens to or an unknown `if_down`."""
    if queue not in QUEUES:
        raise ValueError(f"queue {queue!r} is not one of {QUEUES}")
    if if_down not in (INLINE, SWEEP, RAISE):
        raise ValueError(f"if_down {if_down!r} is not one of inline, sweep, raise")

    def declare(func: Job) -> Job:
        name = f"{func.__module__}.{func.__qualname__}"
        func.job_spec = JobSpec(name, queue, tuple(retries), timeout, if_down)  # type: ignore[attr-defined]
        return func

    return declare


def spec(func: str | Callable[..., Any]) -> JobSpec:
    """The declaration of `func` (a job function or its dotted name). Raises ImportError or
    AttributeError for a name that is no function, LookupError for one without `@job`."""
    found = getattr(function(func) if isinstance(func, str) else func, "job_spec", None)
    if not isinstance(found, JobSpec):
        raise LookupError(f"{func!r} is not declared with @job")
    return found


def function(name: str) -> Callable[..., Any]:
    """The job function named `name`. Raises ImportError, AttributeError."""
    module_name, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]


def enqueue(func: str | Callable[..., Any], *args: Any) -> bool:
    """Run `func(*args)` now (inline) or on an RQ worker, as the job's `@job` declares (queue,
    retries and timeout, ignored inline; `if_down` when Redis is unreachable: module
    docstring). Returns False when the job was left to a sweep, else True. Raises what
    `spec` raises for an undeclared job, and with `if_down=RAISE` one of UNAVAILABLE."""
    declared = spec(func)
    if current_app.config["INLINE_JOBS"]:
        _run_inline(declared.name, args)
        return True
    options: dict[str, Any] = {}
    if declared.retries:
        from rq import Retry

        options["retry"] = Retry(max=len(declared.retries), interval=list(declared.retries))
    if declared.timeout is not None:
        options["job_timeout"] = declared.timeout
    from wxdist.core.redis_conn import UNAVAILABLE

    try:
        target = rq_queue(declared.queue)
        # One round trip (MULTI … EXEC) instead of RQ's two: the queue's registration and
        # the job's save and push go in one transaction.
        pipe = target.connection.pipeline()
        target.enqueue(declared.name, *args, pipeline=pipe, **options)
        pipe.execute()
    except UNAVAILABLE as exc:
        if declared.if_down == RAISE:
            raise
        name = declared.name
        if declared.if_down == SWEEP:
            log.warning("Redis unreachable (%s): job %s%r left to its sweep", exc, name, args)
            return False
        log.warning("Redis unreachable (%s): running job %s%r inline", exc, name, args)
        _run_inline(name, args)
    return True


def _run_inline(func_path: str, args: tuple[Any, ...]) -> None:
    """Run the job in this process; like a failed RQ job, a failure is logged, not raised."""
    try:
        function(func_path)(*args)
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
