"""Queue, send and retry subscribe messages.

A notice becomes a `MessageLog` row (its values checked by keyword type first: a bad value
is a bug, logged, and nothing is queued or spent), committed, then handed to the job
`jobs.notifications.send_message` (RQ, or inline on the embedded defaults). The job takes
the row (compare-and-set queued/retry → sending), spends exactly one consent in the same
transaction (none left: `no_consent`, nothing sent), and calls WeChat's
`cgi-bin/message/subscribe/send`:

- success: `sent`;
- errcode 43101 (the user has no consent at WeChat): `refused`, the count set to zero;
  not an error;
- WeChat busy (-1, 45009 rate limit) or unreachable: `retry` after a backoff, with the
  consent kept for the next try; the sweep `resend_due` sends it again, until MAX_ATTEMPTS
  (then `failed`); a row a dead job left `sending` ends `failed` (`interrupted`), never
  sent twice;
- any other errcode (bad data 47003, unknown template 40037, ...): `failed`, logged, and
  the consent given back (WeChat sent nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.core.tasks import enqueue
from wxdist.models import MessageLog, MessageStatus, User
from wxdist.models.types import utcnow
from wxdist.notifications import consents, switches
from wxdist.notifications.keywords import BadKeyword, check_data

log = logging.getLogger(__name__)

SEND_PATH = "cgi-bin/message/subscribe/send"
SEND_JOB = "jobs.notifications.send_message"
NO_CONSENT_ERRCODE = "43101"
BUSY_ERRCODES = frozenset({"-1", "45009"})  # system busy, rate limit: try again later
BACKOFF_SECONDS = (30, 120, 600, 1800)  # before the 2nd, 3rd, ... try
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
SWEEP_LIMIT = 200


def queue_notice(
    kind: str,
    user_id: int,
    values: Mapping[str, str],
    page: str,
    dedupe_key: str | None = None,
) -> int | None:
    """Log a notice of `kind` to `user_id` and queue its send (after the commit). Returns
    the log row's id; None when the merchant switched the notice off or `dedupe_key` was
    already queued. A value breaking its keyword's rule is logged as an error and the row
    ends `failed` (errcode `bad_data`) without spending a consent. Commits."""
    if not switches.is_enabled(kind):
        log.info("notice %s to user %s not sent: switched off", kind, user_id)
        db.session.rollback()
        return None
    template_id = current_app.config["SUBSCRIBE_TEMPLATES"][kind]
    now = utcnow()
    row = MessageLog(
        user_id=user_id,
        kind=kind,
        template_id=template_id,
        page=page,
        dedupe_key=dedupe_key,
        created_at=now,
        updated_at=now,
    )
    try:
        row.data = check_data(values)
    except BadKeyword as exc:
        log.error("notice %s to user %s has a bad value: %s", kind, user_id, exc)
        row.data = {k: str(v)[:64] for k, v in values.items()}
        row.status, row.errcode, row.error = MessageStatus.FAILED, "bad_data", str(exc)[:255]
    else:
        # Most shoppers never subscribe: their notices are logged without a job.
        if not consents.any_left(user_id, template_id):
            row.status = MessageStatus.NO_CONSENT
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("notice %s (%s) was already queued", kind, dedupe_key)
        return None
    if row.status == MessageStatus.QUEUED:
        enqueue(SEND_JOB, row.id)
    return row.id


def _take(log_id: int, now: datetime) -> MessageLog | None:
    """The row, moved to `sending` by this job (compare-and-set), or None if another job
    has it or it ended."""
    taken = db.session.execute(
        update(MessageLog)
        .where(
            MessageLog.id == log_id,
            MessageLog.status.in_((MessageStatus.QUEUED, MessageStatus.RETRY)),
        )
        .values(
            status=MessageStatus.SENDING,
            attempts=MessageLog.attempts + 1,
            updated_at=now,
        )
    )
    if not taken.rowcount:
        db.session.rollback()
        return None
    return db.session.get(MessageLog, log_id, populate_existing=True)


def _end(row: MessageLog, status: str, errcode: str | None = None, error: str = "") -> str:
    row.status, row.errcode, row.error = status, errcode, error[:255] or None
    row.updated_at = utcnow()
    row.next_attempt_at = None
    if status == MessageStatus.SENT:
        row.sent_at = row.updated_at
    db.session.commit()
    return status


def _retry_later(row: MessageLog, errcode: str, error: str, now: datetime) -> str:
    if row.attempts >= MAX_ATTEMPTS:
        log.error("message %s failed after %s tries: %s", row.id, row.attempts, error)
        return _end(row, MessageStatus.FAILED, errcode, error)
    log.warning("message %s try %s failed (%s); retrying later", row.id, row.attempts, error)
    row.status, row.errcode, row.error = MessageStatus.RETRY, errcode, error[:255]
    row.next_attempt_at = now + timedelta(seconds=BACKOFF_SECONDS[row.attempts - 1])
    row.updated_at = now
    db.session.commit()
    return MessageStatus.RETRY


def send_message(log_id: int, now: datetime | None = None) -> str | None:
    """One try at sending message `log_id` (see the module docstring); commits. Returns
    the status it left, or None when the row was not this job's to send. Never raises
    for WeChat's answer."""
    now = now or utcnow()
    row = _take(log_id, now)
    if row is None:
        return None
    if not row.consent_spent:
        if not consents.spend(row.user_id, row.template_id):
            log.info("message %s (%s) not sent: no consent left", row.id, row.kind)
            return _end(row, MessageStatus.NO_CONSENT)
        row.consent_spent = True
    openid = db.session.scalar(select(User.openid).where(User.id == row.user_id))
    db.session.commit()  # the consent is spent before anything goes out
    body = {
        "touser": openid,
        "template_id": row.template_id,
        "page": row.page,
        "data": {keyword: {"value": value} for keyword, value in row.data.items()},
        "miniprogram_state": current_app.config["SUBSCRIBE_MINIPROGRAM_STATE"],
        "lang": "zh_CN",
    }
    try:
        gateways().miniprogram.post_json(SEND_PATH, body)
    except GatewayRejected as exc:
        return _rejected(row, str(exc.code), str(exc), now)
    except GatewayUnavailable as exc:
        return _retry_later(row, "unavailable", str(exc), now)
    return _end(row, MessageStatus.SENT)


def _rejected(row: MessageLog, errcode: str, error: str, now: datetime) -> str:
    if errcode == NO_CONSENT_ERRCODE:
        log.info("message %s refused by WeChat: user %s has no consent", row.id, row.user_id)
        consents.zero(row.user_id, row.template_id)
        return _end(row, MessageStatus.REFUSED, errcode, error)
    if errcode in BUSY_ERRCODES:
        return _retry_later(row, errcode, error, now)
    log.error("message %s refused by WeChat (%s): %s", row.id, errcode, error)
    consents.give_back(row.user_id, row.template_id)
    row.consent_spent = False
    return _end(row, MessageStatus.FAILED, errcode, error)


def _give_up_interrupted(stale: datetime) -> None:
    """Messages left `sending` by a job that died mid-send: WeChat may have shown them, and
    a second send would show them twice, so they end `failed` (errcode `interrupted`)."""
    ended = db.session.execute(
        update(MessageLog)
        .where(MessageLog.status == MessageStatus.SENDING, MessageLog.updated_at <= stale)
        .values(
            status=MessageStatus.FAILED,
            errcode="interrupted",
            error="the send job stopped before WeChat answered",
            updated_at=utcnow(),
        )
    )
    db.session.commit()
    if ended.rowcount:
        log.error("%s messages were interrupted mid-send and are not sent again", ended.rowcount)


def resend_due(now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Periodic: queue again the messages whose retry time has come, and those still
    queued a while after they were logged (a job lost with Redis); end those a dead job
    left mid-send (`_give_up_interrupted`). Returns how many were queued."""
    now = now or utcnow()
    stale = now - timedelta(minutes=10)
    _give_up_interrupted(stale)
    ids = db.session.scalars(
        select(MessageLog.id)
        .where(
            ((MessageLog.status == MessageStatus.RETRY) & (MessageLog.next_attempt_at <= now))
            | ((MessageLog.status == MessageStatus.QUEUED) & (MessageLog.created_at <= stale))
        )
        .order_by(MessageLog.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    for log_id in ids:
        enqueue(SEND_JOB, log_id)
    return len(ids)
