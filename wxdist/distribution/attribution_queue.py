"""Commission attribution after a payment, coalesced on RQ.

With jobs inline (no Redis) a paid order is attributed in the notify's request, as before.
On RQ, one job per order cost a worker fork and RQ's bookkeeping per order (~90 orders/s
per forking worker) while notifies arrive several times faster. Instead, the notify pushes
the order id to a Redis list and schedules one drain job only when none is scheduled; the
drain attributes what the list holds, batch after batch, each batch in one transaction
(`commissions.attribute_many`: idempotent per order under the orders' row locks; a batch
that fails is redone one order per transaction). While more than a batch waits, a drain
enqueues a helper drain (up to DRAINS at once) for another worker; helpers are ordinary
drains, covered by the argument below.

Keys: PENDING_KEY, the list of order ids waiting; SCHEDULED_KEY, a flag (with a TTL) that
says a drain job is queued or running.

Why no id is stranded in the list without a drain to take it
-----------------------------------------------------------
A push is atomic (one Lua script): RPUSH the id, then SET the flag NX; the pusher enqueues
a drain job exactly when its SET succeeded. A drain ends only through this sequence:
(1) LPOP finds the list empty, (2) DEL the flag, (3) LLEN, (4) if LLEN > 0, SET the flag
NX and, if that succeeded, go on draining (else it returns). Take a push P whose id the
drain did not pop, racing that sequence:

- P before (1): (1) would have popped its id; not this case.
- P between (1) and (2): P's SET fails (the flag is still set), so P enqueues nothing;
  but (3) sees P's id, and at (4) either this drain takes the flag and drains it, or a
  later push took the flag first and enqueued a drain.
- P between (2) and (3): P's SET succeeds and P enqueues a drain; (3) sees the id and
  (4) fails (P holds the flag), so this drain returns and P's job drains it.
- P between (3) and (4) (so (3) saw an earlier id): one SET wins; either this drain goes
  on (and pops P's id) or the winner's push enqueued a drain.
- P after (2) with (3) seeing an empty list, or after the drain returned: the flag is
  clear (DEL at (2)) unless another push set it and enqueued a drain, so P's SET
  succeeds or a drain is already scheduled.

The other ways a drain ends keep the flag set and leave a drain scheduled: a drain that
has run HANDOVER_SECONDS enqueues a fresh job and returns; one with failures raises, and
RQ schedules its retry.

Several drains running at once (the flag expired under a long queue, or a retry next to
a fresh job) break nothing: each pops distinct ids and each ends through (1)-(4); a drain
that deletes a flag another job set re-checks LLEN at (3), so it takes over those ids.

What the argument does not cover, and what covers it: a pusher that dies between its SET
and its enqueue, or a drain job lost or killed, leaves the flag set with no job; the
flag's TTL (refreshed by a running drain after each batch) clears it, and the next notify
schedules a drain. Ids a killed drain had popped but not attributed are paid orders
without `attributed_at`: the periodic sweep `attribute_missed` (every 600 s, orders paid
over a minute ago) attributes them, as it did for a lost per-order job.

When Redis is unreachable
-------------------------
A notify that committed a payment must answer success, so `order_paid` never raises for
Redis; the order is then paid and unattributed in the database (the book of record), and
three things recover it, quickest first:

- The process remembers the id (`_unpushed`) and a daemon thread, started on the first
  failure, tries every REPUSH_SECONDS to push the remembered ids and enqueue a drain; any
  successful `order_paid` of the process pushes them too. So attribution follows within
  about a second of Redis answering again, whether or not more orders come. Memory dies
  with the process (a restart, an RQ job's forked child), hence:
- a repeated notify for the recorded payment (the gateway resends until it hears success,
  and the emulator's `/notify` plays that) calls `paid_again`, which pushes the order again
  when it is paid but not attributed; and
- the `attribute_missed` sweep (every 600 s) attributes whatever is left.

Pushing an id twice is harmless: `attribute_order` locks the order and writes once.
Why not sweep paid-unattributed orders when a drain starts: it would cost every drain a
query to cover only the outage case, and the drain is the hot path of a sale burst.

Failures: the drain keeps going past an order whose attribution raised (a deadlock victim
is retried once in place), pushes the failed ids back onto the list, keeps the flag (so
notifies in between do not schedule a drain that would fail at once again) and raises
naming them; RQ records the failure and retries the job (as DRAIN_JOB declares). Each
failure is counted per order (attribution_failures); an order that failed PARK_AFTER times is
parked instead of pushed back, so it fails no further drain: the sweep keeps trying it and
`flask reconcile` lists it until it is attributed.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from flask import Flask, current_app
from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.core.tasks import enqueue
from wxdist.models import Order

log = logging.getLogger(__name__)

PENDING_KEY = "wxdist:attribution:pending"
SCHEDULED_KEY = "wxdist:attribution:scheduled"
# How long a flag outlives its drain job if the job is lost: the delay before the next
# notify schedules a drain again. A running drain refreshes it after each batch.
SCHEDULED_TTL_SECONDS = 120
BATCH = 200  # ids per LPOP, attributed in one transaction
# Drains that may run at once on a backlog: the first, scheduled by a push, enqueues helpers
# (each holding a slot HELPER_KEY:<n>, with a TTL in case it is lost) while more than a
# batch waits. Concurrent drains pop distinct ids; attribution locks its orders and skips
# one already attributed, so even an id pushed twice is attributed once.
DRAINS = 2
HELPER_KEY = "wxdist:attribution:helper"
# A drain that has run this long hands the rest to a fresh job (keeping the flag), so that
# a long burst neither nears RQ's job timeout nor holds a worker from the other jobs.
HANDOVER_SECONDS = 60.0
DRAIN_JOB = "jobs.orders.attribute_pending"
# How often a process retries pushing the ids it could not push while Redis was down.
REPUSH_SECONDS = 1.0

# RPUSH the id and SET the flag NX in one atomic step; 1 when this push set the flag.
_PUSH_LUA = """
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  return 1
end
return 0
"""


class AttributionFailed(RuntimeError):
    """Some orders of a drain could not be attributed; they are back on the list."""

    def __init__(self, failed: list[int]) -> None:
        super().__init__(f"attribution failed for orders {failed} (pushed back for a retry)")
        self.failed = failed


def _redis():  # type: ignore[no-untyped-def]
    from wxdist.core.redis_conn import redis_client

    return redis_client(current_app.config["REDIS_URL"])


@functools.cache
def _push_script(url: str):  # type: ignore[no-untyped-def]
    from wxdist.core.redis_conn import redis_client

    return redis_client(url).register_script(_PUSH_LUA)


def order_paid(order_id: int) -> None:
    """Hand a just-paid order (committed) to commission attribution: inline, in this
    request; on RQ, onto the pending list, scheduling a drain job if none is. Never raises
    for Redis: an id it could not push is remembered (see "When Redis is unreachable")."""
    if current_app.config["INLINE_JOBS"]:
        enqueue("jobs.orders.order_paid", order_id)
        return
    from wxdist.core.redis_conn import UNAVAILABLE

    try:
        push(order_id)
    except UNAVAILABLE as exc:
        log.warning("Redis unreachable (%s): order %s waits to be pushed again", exc, order_id)
        _remember(order_id)
        return
    if _unpushed:
        _push_remembered_quietly()


def paid_again(order_id: int) -> None:
    """A repeated notify (or query) for a payment already recorded: on RQ, if the order is
    paid but not attributed, push it again (its first push may have been lost with Redis).
    Idempotent: attribution writes once per order under its row lock, so an order queued
    twice is credited once. Inline, the first notify attributed in its own request and a
    repeat does nothing (the sweep retries a failed inline attribution)."""
    if current_app.config["INLINE_JOBS"]:
        return
    row = db.session.execute(
        select(Order.paid_at, Order.attributed_at).where(Order.id == order_id)
    ).first()
    db.session.rollback()
    if row is not None and row.paid_at is not None and row.attributed_at is None:
        order_paid(order_id)


def push(order_id: int) -> bool:
    """Queue `order_id` for the drain; True when this call scheduled the drain job. One
    round trip (EVALSHA), plus the job's enqueue when the flag was clear. Raises one of
    `redis_conn.UNAVAILABLE` when Redis is unreachable."""
    script = _push_script(current_app.config["REDIS_URL"])
    scheduled = script(keys=[PENDING_KEY, SCHEDULED_KEY], args=[order_id, SCHEDULED_TTL_SECONDS])
    if scheduled:
        enqueue(DRAIN_JOB)
    return bool(scheduled)


# Ids this process could not push, and the thread that pushes them once Redis answers.
_unpushed: set[int] = set()
_unpushed_lock = threading.Lock()
_retrier: threading.Thread | None = None


def _remember(order_id: int) -> None:
    """Keep `order_id` for a later push; start the retry thread unless it runs."""
    global _retrier
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _unpushed_lock:
        _unpushed.add(order_id)
        if _retrier is None or not _retrier.is_alive():
            _retrier = threading.Thread(
                target=_retry_until_pushed, args=(app,), name="attribution-repush", daemon=True
            )
            _retrier.start()


def push_remembered() -> int:
    """Push every remembered id (one RPUSH), set the flag and enqueue a drain job
    unconditionally: the flag may have been left set by a push whose enqueue failed, and
    an extra drain is harmless (module docstring). Returns how many ids were pushed;
    raises one of `redis_conn.UNAVAILABLE`, keeping the ids."""
    with _unpushed_lock:  # taken out first, so concurrent calls never push one id twice
        ids = sorted(_unpushed)
        _unpushed.clear()
    if not ids:
        return 0
    try:
        client = _redis()
        client.rpush(PENDING_KEY, *ids)
        client.set(SCHEDULED_KEY, "1", ex=SCHEDULED_TTL_SECONDS)
        enqueue(DRAIN_JOB)
    except BaseException:
        with _unpushed_lock:
            _unpushed.update(ids)
        raise
    log.info("pushed again orders %s that waited for Redis", ids)
    return len(ids)


def _push_remembered_quietly() -> bool:
    from wxdist.core.redis_conn import UNAVAILABLE

    try:
        push_remembered()
    except UNAVAILABLE:
        return False
    return True


def _retry_until_pushed(app: Flask) -> None:
    """The retry thread: every REPUSH_SECONDS, try to push the remembered ids; ends once
    they are pushed (a later failure starts a new thread)."""
    while True:
        time.sleep(REPUSH_SECONDS)
        with app.app_context():
            if _push_remembered_quietly():
                with _unpushed_lock:
                    if not _unpushed:
                        return


def _helper_slot(client) -> int | None:  # type: ignore[no-untyped-def]
    """Take a free helper slot (1 .. DRAINS - 1), or None when every one is taken."""
    for slot in range(1, DRAINS):
        if client.set(f"{HELPER_KEY}:{slot}", "1", nx=True, ex=SCHEDULED_TTL_SECONDS):
            return slot
    return None


def _attribute(order_ids: list[int]) -> tuple[list[int], list[int]]:
    """Attribute a popped batch (commissions.attribute_many: one transaction, else one per
    order). Returns (failed ids to retry, ids parked after too many failures)."""
    from wxdist.distribution.commissions import attribute_many

    outcome = attribute_many(order_ids)
    if outcome.parked:
        log.error(
            "attribution of orders %s failed too often: parked for the sweep and listed by "
            "`flask reconcile`",
            outcome.parked,
        )
    return outcome.failed, outcome.parked


def drain(batch: int = BATCH, helper_slot: int = 0) -> int:
    """Attribute every order id on the pending list until it stays empty (see the module
    docstring for the ending sequence), `batch` ids per transaction. While a backlog of
    more than a batch remains, a drain enqueues a helper drain into a free slot (at most
    DRAINS drains). `helper_slot`: the slot this drain holds as a helper (0: none), freed
    when it ends. Returns the ids handled. Raises AttributionFailed, after handling the
    rest, when some could not be attributed and are not parked."""
    client = _redis()
    try:
        return _drain(client, batch)
    finally:
        if helper_slot:
            client.delete(f"{HELPER_KEY}:{helper_slot}")


def _drain(client, batch: int) -> int:  # type: ignore[no-untyped-def]
    handled = 0
    failed: list[int] = []
    deadline = time.monotonic() + HANDOVER_SECONDS
    while True:
        if time.monotonic() > deadline:
            # Hand over with the flag kept set: to a fresh job or, after failures, to this
            # job's RQ retry. (Should the list be empty by now, that drain just ends.)
            client.set(SCHEDULED_KEY, "1", ex=SCHEDULED_TTL_SECONDS)
            if failed:
                break
            enqueue(DRAIN_JOB)
            return handled
        raw = client.lpop(PENDING_KEY, batch)  # (1)
        if raw:
            client.expire(SCHEDULED_KEY, SCHEDULED_TTL_SECONDS)  # still draining
            if len(raw) == batch and DRAINS > 1 and client.llen(PENDING_KEY) > batch:
                slot = _helper_slot(client)
                if slot is not None:
                    enqueue(DRAIN_JOB, batch, slot)
            ids = [int(value) for value in raw]
            try:
                retry, _parked = _attribute(ids)
            except Exception:
                # Not even a failure could be recorded (the database went away): queue the
                # batch again (its attributed orders will be skipped) for the RQ retry.
                client.rpush(PENDING_KEY, *failed, *ids)
                client.set(SCHEDULED_KEY, "1", ex=SCHEDULED_TTL_SECONDS)
                raise
            failed.extend(retry)
            handled += len(raw)
            continue
        if failed:
            break
        client.delete(SCHEDULED_KEY)  # (2)
        if not client.llen(PENDING_KEY):  # (3)
            return handled
        if not client.set(SCHEDULED_KEY, "1", nx=True, ex=SCHEDULED_TTL_SECONDS):  # (4)
            return handled  # a push took the flag and enqueued a drain
    # Keep the flag: this job's RQ retry drains the list (these ids included) again.
    client.rpush(PENDING_KEY, *failed)
    client.set(SCHEDULED_KEY, "1", ex=SCHEDULED_TTL_SECONDS)
    raise AttributionFailed(failed)
