"""Issuing a coupon template to every customer a list filter matches.

`start` records a `bulk_coupon_issues` row (its `request_key` unique, so a resubmitted form
starts nothing twice) and queues `jobs.customers.bulk_issue` (inline without RQ). `run`
walks the matching customers by user id in batches through marketing's `coupons.claim`
(per-user limits and stock as any staff issue), each coupon with the claim key
`bulk:<issue id>`: (user, claim key) is unique, so a retried or resumed run gives nobody
the template twice. After each batch the row's cursor and counts commit, so a run that
died resumes after the last batch it finished; a customer of a batch replayed who already
has the coupon is counted as issued before, not again.
"""

from __future__ import annotations

import json
from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.tasks import enqueue
from wxdist.customers.listing import CustomerFilter, matching
from wxdist.marketing import coupons
from wxdist.models import BulkCouponIssue, Coupon, CouponTemplate, CustomerStat, User
from wxdist.models.types import utcnow

BATCH = 200
QUEUED, RUNNING, DONE = "queued", "running", "done"


def start(
    flt: CustomerFilter, template_id: int, staff_username: str, request_key: str
) -> BulkCouponIssue:
    """Record the issue and queue it; commits. The same `request_key` returns the issue it
    started before. Raises ApiError naming `template_id` for an unknown template."""
    if not request_key or len(request_key) > 64:
        raise ApiError(_("the form expired; reload it"), fields={"request_key": _("required")})
    if db.session.get(CouponTemplate, template_id) is None:
        raise ApiError(_("no such coupon"), fields={"template_id": _("no such coupon")})
    issue = BulkCouponIssue(
        request_key=request_key,
        template_id=template_id,
        filter_json=flt.to_json(),
        staff_username=staff_username[:64],
        status=QUEUED,
        cursor_user_id=0,
        matched=0,
        issued=0,
        refused=0,
        refusals_json="",
        created_at=utcnow(),
    )
    db.session.add(issue)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        found = db.session.scalar(
            select(BulkCouponIssue).where(BulkCouponIssue.request_key == request_key)
        )
        if found is None:
            raise
        return found
    enqueue("jobs.customers.bulk_issue", issue.id)
    return issue


def run(issue_id: int) -> BulkCouponIssue:
    """Issue (or go on issuing) bulk issue `issue_id` until done; commits after each batch.
    Returns the row. Raises NotFound for an unknown id."""
    issue = db.session.get(BulkCouponIssue, issue_id)
    if issue is None:
        raise NotFound(_("no such bulk issue"))
    if issue.status == DONE:
        return issue
    flt = CustomerFilter.from_json(issue.filter_json)
    key = f"bulk:{issue.id}"
    refusals = Counter(json.loads(issue.refusals_json or "{}"))
    cursor = issue.cursor_user_id
    while True:
        users = list(
            db.session.scalars(
                matching(flt)
                .with_only_columns(CustomerStat.user_id)
                .join(User, User.id == CustomerStat.user_id)
                .where(CustomerStat.user_id > cursor, User.deleted_at.is_(None))
                .order_by(CustomerStat.user_id)
                .limit(BATCH)
            )
        )
        if not users:
            break
        issued, refused = _issue_batch(issue.template_id, users, key, refusals)
        cursor = users[-1]
        db.session.execute(
            update(BulkCouponIssue)
            .where(BulkCouponIssue.id == issue_id)
            .values(
                status=RUNNING,
                cursor_user_id=cursor,
                matched=BulkCouponIssue.matched + len(users),
                issued=BulkCouponIssue.issued + issued,
                refused=BulkCouponIssue.refused + refused,
                refusals_json=json.dumps(dict(refusals), sort_keys=True),
            )
        )
        db.session.commit()
    # The coupons this issue gave, counted: right even if two runs overlapped (each counts
    # a coupon the other inserted first as its own).
    given = db.session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.template_id == issue.template_id, Coupon.claim_key == key)
    )
    db.session.execute(
        update(BulkCouponIssue)
        .where(BulkCouponIssue.id == issue_id)
        .values(status=DONE, finished_at=utcnow(), issued=given)
    )
    db.session.commit()
    return db.session.get(BulkCouponIssue, issue_id, populate_existing=True)  # type: ignore[return-value]


def _issue_batch(
    template_id: int, users: list[int], key: str, refusals: Counter[str]
) -> tuple[int, int]:
    """Claim one coupon for each user (each claim its own transaction). Returns (issued,
    refused); a user who already has this issue's coupon (a replayed batch) counts as
    neither."""
    already = set(
        db.session.scalars(
            select(Coupon.user_id).where(Coupon.user_id.in_(users), Coupon.claim_key == key)
        )
    )
    db.session.rollback()
    issued = refused = 0
    for user_id in users:
        if user_id in already:
            continue
        try:
            coupons.claim(user_id, template_id, claim_key=key, source=coupons.STAFF)
            issued += 1
        except (Conflict, NotFound) as exc:
            refusals[exc.code] += 1
            refused += 1
    return issued, refused
