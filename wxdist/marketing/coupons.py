"""Coupons: claiming one from a template, and every move of a coupon after that.

Issuing is atomic: the template's `remaining` drops by a conditional update
(`remaining >= 1`) in the same transaction as the insert of the coupon, whose unique keys
bound the user (template, user, slot 1..per_user_limit), the day (template, user,
"YYYYMMDD:n") and the request (user, claim_key). A claim that loses a race on a slot tries
the next one; one over a limit is refused; nothing is half-written.

Moves, each a compare-and-set on the status: unused → locked (an order is placed with it)
→ used (the order is paid); locked → unused (the unpaid order is cancelled or closed);
unused → expired (by time); used → unused / returned + a reissued coupon / kept, on a
full refund, by the template's refund policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wxdist.accounts import audit
from wxdist.accounts.auth import TokenClaims, check_claims
from wxdist.core.clock import to_local
from wxdist.core.errors import Conflict, NotFound, Unauthorized
from wxdist.core.extensions import db
from wxdist.models import (
    Coupon,
    CouponAudience,
    CouponStatus,
    CouponTemplate,
    OfferStatus,
    Order,
    OrderAdjustment,
    RefundPolicy,
    User,
)
from wxdist.models.types import utcnow
from wxdist.shop.pricing import COUPON

log = logging.getLogger(__name__)

CLAIM, SHARE, STAFF, REISSUE = "claim", "share", "staff", "reissue"
_SLOT_TRIES = 3
_templates, _coupons = CouponTemplate.__table__, Coupon.__table__


def validity(template: Any, claimed_at: datetime) -> tuple[datetime, datetime]:
    """When a coupon claimed at `claimed_at` may be used: the template's fixed dates, or
    from the claim for `valid_days` days."""
    if template.valid_days:
        return claimed_at, claimed_at + timedelta(days=template.valid_days)
    assert template.valid_from is not None and template.valid_until is not None
    return template.valid_from, template.valid_until


def _refuse(message: str, *, code: str) -> Conflict:
    db.session.rollback()
    return Conflict(message, code=code, fields={"template_id": message})


def _check_claimable(template: Any, user_id: int, source: str, now: datetime) -> None:
    if template.status != OfferStatus.ACTIVE or not (
        template.claim_starts_at <= now < template.claim_ends_at
    ):
        raise _refuse(_("This coupon cannot be claimed now."), code="claim_closed")
    audience = template.audience
    if audience == CouponAudience.STAFF_ISSUED and source != STAFF:
        raise _refuse(_("This coupon is only given out by the store."), code="staff_only")
    if audience == CouponAudience.DISTRIBUTOR_CUSTOMERS and source not in (SHARE, STAFF):
        raise _refuse(_("This coupon comes with a distributor's share."), code="share_only")
    if audience == CouponAudience.NEW_USERS and db.session.scalar(
        select(Order.id).where(Order.user_id == user_id, Order.paid_at.is_not(None)).limit(1)
    ):
        raise _refuse(_("This coupon is for new customers only."), code="new_users_only")


def _count_held(template_id: int, user_id: int, day: str | None) -> int:
    """Coupons of the template the user claimed (reissues aside), or claimed on `day`."""
    query = (
        select(func.count())
        .select_from(_coupons)
        .where(_coupons.c.template_id == template_id, _coupons.c.user_id == user_id)
    )
    if day is None:
        query = query.where(_coupons.c.slot > 0)
    else:
        query = query.where(_coupons.c.day_slot.like(f"{day}:%"))
    return db.session.scalar(query) or 0


def _slots(template: Any, user_id: int, now: datetime, first_try: bool) -> tuple[int, str | None]:
    """The slot and day slot to claim, or a refusal. The first try takes slot 1 without
    counting (most shoppers claim a template once; the unique key catches the others, who
    are then counted on the next try)."""
    day = to_local(now).strftime("%Y%m%d") if template.per_day_limit else None
    if first_try:
        return 1, f"{day}:1" if day else None
    held = _count_held(template.id, user_id, None)
    if held >= template.per_user_limit:
        raise _refuse(
            _("You already hold as many of this coupon as allowed."), code="limit_reached"
        )
    if day is None:
        return held + 1, None
    today = _count_held(template.id, user_id, day)
    if today >= template.per_day_limit:
        raise _refuse(
            _("You have claimed as many of this coupon as allowed today."),
            code="daily_claim_limit",
        )
    return held + 1, f"{day}:{today + 1}"


@dataclass(frozen=True)
class Claimed:
    """A coupon a claim gave (or gave earlier, for a repeated claim key), with its
    template; both are rows (attributes as the models name them)."""

    coupon: Any
    template: Any


_users = User.__table__
_TEMPLATE_AND_TOKEN = select(
    _templates,
    select(_users.c.token_version)
    .where(_users.c.id == bindparam("user_id"))
    .scalar_subquery()
    .label("token_version"),
).where(_templates.c.id == bindparam("template_id"))
_EARLIER_CLAIM = select(_coupons).where(
    _coupons.c.user_id == bindparam("user_id"), _coupons.c.claim_key == bindparam("claim_key")
)


def _read_template(template_id: int, user_id: int, claims: TokenClaims | None) -> Any:
    """The template's row, with the token checked against the user in the same query.
    Raises Unauthorized, NotFound."""
    row = db.session.execute(
        _TEMPLATE_AND_TOKEN, {"template_id": template_id, "user_id": user_id}
    ).first()
    if claims is not None:
        version = (
            row.token_version
            if row is not None
            else (db.session.scalar(select(_users.c.token_version).where(_users.c.id == user_id)))
        )
        try:
            check_claims(claims, version)
        except Unauthorized:
            db.session.rollback()
            raise
    if row is None:
        db.session.rollback()
        raise NotFound(_("No such coupon."), fields={"template_id": _("No such coupon.")})
    return row


def claim(
    user_id: int,
    template_id: int,
    *,
    claim_key: str | None = None,
    source: str = CLAIM,
    share_code_id: int | None = None,
    distributor_id: int | None = None,
    now: datetime | None = None,
    on_issue: Callable[[], None] | None = None,
    claims: TokenClaims | None = None,
) -> Claimed:
    """Issue one coupon of `template_id` to `user_id` and commit; `on_issue` runs in the
    same transaction when a coupon is issued (not for a repeated `claim_key`). With
    `claims` (a bearer token's), the token is checked against the user in the first query.

    A repeated `claim_key` returns the coupon the first request made. Raises Unauthorized,
    NotFound for an unknown template, Conflict `claim_closed`, `staff_only`, `share_only`,
    `new_users_only`, `limit_reached`, `daily_claim_limit`, `sold_out`; nothing written then.
    Core statements: a sold-out claim reads one row; an issued one is a read, an update of
    the template, an insert and the commit.
    """
    now = now or utcnow()
    for attempt in range(_SLOT_TRIES):
        template = _read_template(template_id, user_id, claims)
        try:
            _check_claimable(template, user_id, source, now)
            if template.remaining < 1:
                raise _refuse(_("All of this coupon have been claimed."), code="sold_out")
            slot, day_slot = _slots(template, user_id, now, first_try=attempt == 0)
            taken = db.session.execute(
                update(_templates)
                .where(
                    _templates.c.id == template_id,
                    _templates.c.remaining >= 1,
                    _templates.c.status == OfferStatus.ACTIVE,
                )
                .values(
                    remaining=_templates.c.remaining - 1,
                    issued_count=_templates.c.issued_count + 1,
                )
            )
            if taken.rowcount != 1:
                raise _refuse(_("All of this coupon have been claimed."), code="sold_out")
        except Conflict:
            earlier = _earlier_claim(user_id, claim_key)
            if earlier is not None:
                return Claimed(earlier, template)
            raise
        valid_from, valid_until = validity(template, now)
        values = {
            "template_id": template_id,
            "user_id": user_id,
            "slot": slot,
            "day_slot": day_slot,
            "claim_key": claim_key,
            "status": CouponStatus.UNUSED,
            "source": source,
            "share_code_id": share_code_id,
            "distributor_id": distributor_id,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "order_id": None,
            "discount_fen": 0,
            "claimed_at": now,
            "used_at": None,
        }
        try:
            values["id"] = db.session.execute(insert(_coupons).values(values)).inserted_primary_key[
                0
            ]
        except IntegrityError:  # the slot is taken (or this claim key was used): look again
            db.session.rollback()
            earlier = _earlier_claim(user_id, claim_key)
            if earlier is not None:
                return Claimed(earlier, template)
            continue
        if on_issue is not None:
            on_issue()
        db.session.commit()
        return Claimed(SimpleNamespace(**values), template)
    raise Conflict(_("Please try again."), code="retry")


def _earlier_claim(user_id: int, claim_key: str | None) -> Any:
    """The coupon an earlier request with this claim key gave, if any (rolls back first:
    the caller is refusing or retrying)."""
    db.session.rollback()
    if not claim_key:
        return None
    return db.session.execute(_EARLIER_CLAIM, {"user_id": user_id, "claim_key": claim_key}).first()


def issue_to_users(
    template_id: int, user_ids: list[int], now: datetime | None = None
) -> dict[int, str]:
    """Staff hand one coupon to each user (each claim its own transaction, keyed so that
    sending the same list again issues nothing twice). Returns {user id: "issued", or the
    refusal code, or "no_such_user"}."""
    wanted = list(dict.fromkeys(user_ids))
    known = set(db.session.scalars(select(User.id).where(User.id.in_(wanted))))
    results: dict[int, str] = {}
    for user_id in wanted:
        if user_id not in known:
            results[user_id] = "no_such_user"
            continue
        key = f"staff:{template_id}:{user_id}"
        try:
            claim(user_id, template_id, claim_key=key, source=STAFF, now=now)
            results[user_id] = "issued"
        except (Conflict, NotFound) as refused:
            results[user_id] = refused.code
    return results


def mark_used(order_id: int, coupon_id: int, now: datetime | None = None) -> None:
    """Inside the payment's transaction: the order's locked coupon becomes used, and the
    template counts it and its cost. A coupon no longer locked by the order (it went back
    when the order closed and a late payment revived it) is taken again if still unused;
    if another order took it meanwhile it stays with that order (logged: this order keeps
    its discount, the coupon is not used twice)."""
    discount = db.session.scalar(
        select(func.coalesce(func.sum(OrderAdjustment.amount_fen), 0)).where(
            OrderAdjustment.order_id == order_id, OrderAdjustment.kind == COUPON
        )
    )
    moved = db.session.execute(
        update(_coupons)
        .where(
            _coupons.c.id == coupon_id,
            _coupons.c.status.in_((CouponStatus.LOCKED, CouponStatus.UNUSED)),
            (_coupons.c.order_id == order_id) | _coupons.c.order_id.is_(None),
        )
        .values(
            status=CouponStatus.USED,
            order_id=order_id,
            used_at=now or utcnow(),
            discount_fen=discount,
        )
    )
    if moved.rowcount != 1:
        log.warning("order %s paid, but another order holds its coupon %s", order_id, coupon_id)
        return
    template_id = select(_coupons.c.template_id).where(_coupons.c.id == coupon_id).scalar_subquery()
    db.session.execute(
        update(_templates)
        .where(_templates.c.id == template_id)
        .values(used_count=_templates.c.used_count + 1, cost_fen=_templates.c.cost_fen + discount)
    )


def release(order_id: int) -> None:
    """Inside the transaction ending an unpaid order: its locked coupon is unused again."""
    db.session.execute(
        update(_coupons)
        .where(_coupons.c.order_id == order_id, _coupons.c.status == CouponStatus.LOCKED)
        .values(status=CouponStatus.UNUSED, order_id=None, discount_fen=0)
    )


def after_full_refund(order: Order, now: datetime | None = None) -> None:
    """Inside the refund's transaction, when the order is wholly refunded: the coupon it
    used is returned, reissued with a fresh validity, or kept, by its template's policy;
    audited. A partial refund keeps the coupon used (the caller only calls on a full one)."""
    if order.coupon_id is None:
        return
    coupon = db.session.get(Coupon, order.coupon_id)
    if coupon is None or coupon.status != CouponStatus.USED or coupon.order_id != order.id:
        return
    template = db.session.get(CouponTemplate, coupon.template_id)
    assert template is not None
    now = now or utcnow()
    before = {"coupon": coupon.id, "status": coupon.status, "order": order.id}
    policy = template.refund_policy
    # The discount was not given after all: the template's cost drops by it.
    db.session.execute(
        update(_templates)
        .where(_templates.c.id == template.id)
        .values(cost_fen=_templates.c.cost_fen - coupon.discount_fen)
    )
    if policy == RefundPolicy.KEEP:
        audit.record(None, "coupon.keep_after_refund", "coupon", coupon.id, before, before)
        return
    after_status = CouponStatus.UNUSED if policy == RefundPolicy.RETURN else CouponStatus.RETURNED
    moved = db.session.execute(
        update(_coupons)
        .where(_coupons.c.id == coupon.id, _coupons.c.status == CouponStatus.USED)
        .values(status=after_status, order_id=None, used_at=None, discount_fen=0)
    )
    if moved.rowcount != 1:
        return
    after: dict[str, object] = {"coupon": coupon.id, "status": after_status}
    if policy == RefundPolicy.REISSUE:
        valid_from, valid_until = validity(template, now)
        after["reissued"] = db.session.execute(
            insert(_coupons).values(
                template_id=template.id,
                user_id=coupon.user_id,
                slot=-coupon.id,  # outside 1..limit: a reissue never blocks a claim
                status=CouponStatus.UNUSED,
                source=REISSUE,
                share_code_id=coupon.share_code_id,
                distributor_id=coupon.distributor_id,
                valid_from=valid_from,
                valid_until=valid_until,
                discount_fen=0,
                claimed_at=now,
            )
        ).inserted_primary_key[0]
    db.session.execute(
        update(_templates)
        .where(_templates.c.id == template.id)
        .values(returned_count=_templates.c.returned_count + 1)
    )
    audit.record(None, f"coupon.{policy}_after_refund", "coupon", coupon.id, before, after)


def expire(now: datetime | None = None, limit: int = 1000) -> int:
    """Unused coupons past their validity become expired; returns how many."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(_coupons.c.id)
        .where(_coupons.c.status == CouponStatus.UNUSED, _coupons.c.valid_until <= now)
        .limit(limit)
    ).all()
    if not ids:
        return 0
    moved = db.session.execute(
        update(_coupons)
        .where(_coupons.c.id.in_(ids), _coupons.c.status == CouponStatus.UNUSED)
        .values(status=CouponStatus.EXPIRED)
    ).rowcount
    db.session.commit()
    return moved


def held_by(
    user_id: int, status: str | None, now: datetime | None = None
) -> list[tuple[Coupon, CouponTemplate]]:
    """The user's coupons (newest first, at most 200), as they stand now: an unused one
    past its validity counts as expired."""
    now = now or utcnow()
    query = (
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.user_id == user_id)
    )
    if status == CouponStatus.UNUSED:
        query = query.where(Coupon.status == status, Coupon.valid_until > now)
    elif status == CouponStatus.EXPIRED:
        query = query.where(
            (Coupon.status == status)
            | ((Coupon.status == CouponStatus.UNUSED) & (Coupon.valid_until <= now))
        )
    elif status:
        query = query.where(Coupon.status == status)
    rows = db.session.execute(query.order_by(Coupon.id.desc()).limit(200)).all()
    return [(coupon, template) for coupon, template in rows]


def status_now(coupon: Coupon, now: datetime | None = None) -> str:
    """The coupon's status as the shopper sees it now (unused past validity: expired)."""
    if coupon.status == CouponStatus.UNUSED and coupon.valid_until <= (now or utcnow()):
        return CouponStatus.EXPIRED
    return coupon.status
