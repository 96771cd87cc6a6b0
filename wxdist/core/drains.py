"""Work queued in a database table, worked off by one RQ job at a time (plus helpers).

Some work arrives one row at a time but is cheap per row once a worker is at it: one RQ
job per row pays RQ's bookkeeping (a dozen Redis commands, a job hash, registries) and a
transaction per row, more than the work itself. A `Drain` runs such work as one job that
takes due rows in batches until none is left. The table is the book of record (what is
due, who holds it through a lease, what is done); Redis only holds a flag saying that a
drain job is queued or running, so at most one is scheduled however many rows arrive.

`schedule()` is called after the commit that made a row due: it sets the flag (SET NX with
a TTL) and enqueues the job only when it set it. The job calls `run(work, due)`: `work()`
claims and handles one batch (returning how many rows it claimed; rows are claimed with a
lease so concurrent drains never take one row twice), `due()` says whether a row is
claimable now.

Why no row is left due without a drain to take it
-------------------------------------------------
A drain ends only through: (1) `work()` claims nothing, (2) DEL the flag, (3) `due()`,
(4) if due, SET the flag NX and, if that succeeded, go on (else return). A row R made due
by a commit that precedes its `schedule()` (S), and not claimed by the drain:

- S before (2): its SET fails (flag set), it enqueues nothing; but R committed before S,
  so (3) sees it, and at (4) this drain takes the flag and goes on, or a later `schedule`
  took it first and enqueued a drain.
- S after (2): its SET succeeds (or another's did) and a drain job is enqueued.

Rows that come due by time alone (a retry's backoff passing, a lease of a lost drain
expiring) have no `schedule()` call: the owner's periodic sweep calls it when `due()`.

The other ways a drain ends keep the flag set with a drain scheduled: one that has run
`handover_seconds` enqueues a fresh job and returns (so a long backlog neither meets RQ's
job timeout nor holds a worker from other jobs); one whose `work()` raises keeps the flag
and re-raises, for the job's RQ retry. A drain job lost with its worker leaves the flag set
until its TTL ends (refreshed after each batch): then the next `schedule()` or the sweep
starts one, and the rows the lost drain held come due when their leases end.

Helpers: while batches come back full, a drain enqueues a helper drain into a free slot
(up to `helpers` at once), so a backlog is worked by several workers. A helper works until
`work()` claims nothing and frees its slot; it never touches the flag, whose holder runs
the ending sequence above. Several drains at once are safe because claims are exclusive.

Inline jobs (no Redis): `schedule()` returns False and the caller runs the row's own work
in its process, as for any inline job. With Redis unreachable `schedule()` logs and returns
False too: the rows stay due in the database for the sweep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from wxdist.core.tasks import enqueue

log = logging.getLogger(__name__)

FLAG_PREFIX = "wxdist:drain:"


@dataclass(frozen=True)
class Drain:
    """A database-queued piece of work and the RQ job that drains it (module docstring).

    `name` names its Redis keys; `job` is the dotted name of an `@job` taking one optional
    argument, the helper slot (0 for the drain that holds the flag)."""

    name: str
    job: str
    helpers: int = 1
    flag_ttl_seconds: int = 120
    handover_seconds: float = 60.0

    @property
    def flag_key(self) -> str:
        return FLAG_PREFIX + self.name

    def helper_key(self, slot: int) -> str:
        return f"{FLAG_PREFIX}{self.name}:helper:{slot}"

    def schedule(self) -> bool:
        """Make sure a drain job is queued or running (call after the commit that made work
        due). False when jobs run inline or Redis is unreachable: the caller does the work
        itself, or leaves it to the sweep. One round trip, plus the enqueue when this call
        set the flag."""
        if current_app.config["INLINE_JOBS"]:
            return False
        from wxdist.core.redis_conn import UNAVAILABLE

        try:
            if _redis().set(self.flag_key, "1", nx=True, ex=self.flag_ttl_seconds):
                enqueue(self.job)
        except UNAVAILABLE as exc:
            log.warning("Redis unreachable (%s): %s left due for its sweep", exc, self.name)
            return False
        return True

    def run(
        self, work: Callable[[], int], due: Callable[[], bool], batch: int, helper_slot: int = 0
    ) -> int:
        """Call `work()` (which claims up to `batch` rows) until it claims nothing and
        nothing is `due()`, then end (module docstring); returns the rows claimed. Raises
        what `work` raises, keeping the flag set for the job's retry."""
        client = _redis()
        try:
            return self._run(client, work, due, batch, helper_slot)
        except BaseException:
            if not helper_slot:
                client.set(self.flag_key, "1", ex=self.flag_ttl_seconds)
            raise
        finally:
            if helper_slot:
                client.delete(self.helper_key(helper_slot))

    def _run(
        self, client: Any, work: Callable[[], int], due: Callable[[], bool], batch: int, slot: int
    ) -> int:
        handled = 0
        deadline = time.monotonic() + self.handover_seconds
        while True:
            if time.monotonic() > deadline:
                if not slot:  # hand the flag to a fresh job
                    client.set(self.flag_key, "1", ex=self.flag_ttl_seconds)
                    enqueue(self.job)
                return handled
            claimed = work()  # (1)
            if claimed:
                handled += claimed
                if not slot:
                    client.expire(self.flag_key, self.flag_ttl_seconds)  # still draining
                    if claimed >= batch:  # a full batch: likely a backlog
                        self._call_helper(client)
                continue
            if slot:
                return handled
            client.delete(self.flag_key)  # (2)
            if not due():  # (3)
                return handled
            if not client.set(self.flag_key, "1", nx=True, ex=self.flag_ttl_seconds):  # (4)
                return handled  # a `schedule()` took the flag and enqueued a drain

    def _call_helper(self, client: Any) -> None:
        for slot in range(1, self.helpers + 1):
            if client.set(self.helper_key(slot), "1", nx=True, ex=self.flag_ttl_seconds):
                enqueue(self.job, slot)
                return


def _redis() -> Any:
    from wxdist.core.redis_conn import redis_client

    return redis_client(current_app.config["REDIS_URL"])
