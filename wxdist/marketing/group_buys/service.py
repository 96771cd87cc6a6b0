"""Opening and joining a group: the leader's or member's activity order, with its seat and
activity unit taken inside the order's transaction.

Seat: `taken = taken + 1 WHERE id = :id AND status = 'open' AND taken < size` (0 rows →
409 `group_full`), after the member row, unique on (group, user) (a duplicate → 409
`group_joined`). Unit: `stock_left = stock_left - 1 WHERE stock_left >= 1` (→ `sold_out`).
Every group order is held (`shop.holds`) until its group succeeds. One unit per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError

from wxdist.accounts.auth import TokenClaims
from wxdist.core.errors import Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore, is_deadlock
from wxdist.models import (
    CommissionMode,
    GroupActivity,
    GroupBuy,
    GroupMember,
    GroupSku,
    GroupStatus,
    MemberStatus,
)
from wxdist.models.types import utcnow
from wxdist.shop import holds
from wxdist.shop.activity_orders import place_activity_order
from wxdist.shop.order_address import Address
from wxdist.shop.pricing import ActivityPrice

KIND = "group"  # the order adjustment's kind, and the hold's name
QUANTITY = 1

_ga, _gs = GroupActivity.__table__, GroupSku.__table__
_groups, _members = GroupBuy.__table__, GroupMember.__table__


@dataclass(frozen=True)
class Offer:
    """An activity SKU as an order reads it."""

    group_sku_id: int
    activity_id: int
    sku_id: int
    price_fen: int
    stock_left: int
    group_size: int
    time_limit_minutes: int
    commission_mode: str
    coupons_allowed: bool
    starts_at: datetime
    ends_at: datetime


def read_offer(group_sku_id: int) -> Offer:
    """Raises NotFound `group_sku_id` for an unknown SKU or a disabled activity."""
    row = db.session.execute(
        select(
            _gs.c.id,
            _gs.c.activity_id,
            _gs.c.sku_id,
            _gs.c.price_fen,
            _gs.c.stock_left,
            _ga.c.group_size,
            _ga.c.time_limit_minutes,
            _ga.c.commission_mode,
            _ga.c.coupons_allowed,
            _ga.c.starts_at,
            _ga.c.ends_at,
        )
        .join(_ga, _ga.c.id == _gs.c.activity_id)
        .where(_gs.c.id == group_sku_id, _ga.c.enabled.is_(True))
    ).first()
    if row is None:
        raise NotFound(_("no such group-buy item"), fields={"group_sku_id": _("not found")})
    return Offer(*row)


def not_open_error() -> Conflict:
    return Conflict(_("This group buy is not open."), code="group_not_open")


def sold_out_error() -> Conflict:
    return Conflict(
        _("This group-buy item is sold out."),
        code="sold_out",
        fields={"group_sku_id": _("sold out")},
    )


def _price(offer: Offer) -> ActivityPrice:
    return ActivityPrice(
        kind=KIND,
        source_id=offer.activity_id,
        sku_id=offer.sku_id,
        unit_fen=offer.price_fen,
        coupons_allowed=offer.coupons_allowed,
        no_commission=offer.commission_mode != CommissionMode.NORMAL,
    )


def _check(offer: Offer, now: datetime) -> None:
    if not offer.starts_at <= now < offer.ends_at:
        raise not_open_error()
    if offer.stock_left < QUANTITY:
        raise sold_out_error()


def _take_unit(offer: Offer) -> None:
    taken = db.session.execute(
        update(_gs)
        .where(_gs.c.id == offer.group_sku_id, _gs.c.stock_left >= QUANTITY)
        .values(stock_left=_gs.c.stock_left - QUANTITY)
    )
    if taken.rowcount != 1:
        raise sold_out_error()


def _place(
    claims: TokenClaims,
    offer: Offer,
    address: Address | int,
    take: Any,
    remark: str,
    coupon_id: int | None,
    expected_payable_fen: int | None,
) -> dict[str, Any]:
    try:
        return place_activity_order(
            claims,
            _price(offer),
            QUANTITY,
            address,
            take,
            remark,
            coupon_id,
            expected_payable_fen,
        )
    except OperationalError as exc:
        db.session.rollback()
        if not is_deadlock(exc):
            raise
        raise Conflict(_("please try again"), code="retry") from None


def open_group(
    claims: TokenClaims,
    group_sku_id: int,
    address: Address | int,
    remark: str = "",
    coupon_id: int | None = None,
    expected_payable_fen: int | None = None,
) -> dict[str, Any]:
    """Place the leader's order, with a `pending` group (it opens when the order is paid);
    returns the order as `shop.orders.create_order` does, plus `group_id`. Raises NotFound
    `group_sku_id`, Conflict `group_not_open` outside the activity's window, `sold_out`,
    `retry`, and what `shop.activity_orders.place_activity_order` raises."""
    try:
        offer = read_offer(group_sku_id)
        _check(offer, utcnow())
    finally:
        db.session.rollback()
    opened: dict[str, int] = {}

    def take(order: dict[str, Any]) -> None:
        _take_unit(offer)
        now = utcnow()
        group_id = db.session.execute(
            insert(_groups).values(
                activity_id=offer.activity_id,
                group_sku_id=offer.group_sku_id,
                leader_id=claims.user_id,
                size=offer.group_size,
                taken=1,
                paid=0,
                status=GroupStatus.PENDING,
                time_limit_minutes=offer.time_limit_minutes,
                created_at=now,
                reward_done=False,
            )
        ).inserted_primary_key[0]
        _add_member(group_id, claims.user_id, order["id"], leader=True)
        opened["group_id"] = group_id

    placed = _place(claims, offer, address, take, remark, coupon_id, expected_payable_fen)
    return {**placed, "group_id": opened["group_id"]}


def _add_member(group_id: int, user_id: int, order_id: int, leader: bool = False) -> None:
    db.session.execute(
        insert(_members).values(
            group_id=group_id,
            user_id=user_id,
            order_id=order_id,
            is_leader=leader,
            status=MemberStatus.RESERVED,
            created_at=utcnow(),
        )
    )
    holds.hold(order_id, KIND)


def joined_error() -> Conflict:
    return Conflict(_("You are already in this group."), code="group_joined")


def full_error() -> Conflict:
    return Conflict(_("This group is full."), code="group_full")


def _read_group(group_id: int) -> Any:
    row = db.session.execute(
        select(_groups.c.group_sku_id, _groups.c.status, _groups.c.taken, _groups.c.size)
        .add_columns(_groups.c.expires_at)
        .where(_groups.c.id == group_id)
    ).first()
    if row is None:
        raise NotFound(_("no such group"), fields={"group_id": _("not found")})
    return row


def _check_group(group: Any, group_id: int, user_id: int, now: datetime) -> None:
    if group.status != GroupStatus.OPEN or group.expires_at is None or group.expires_at <= now:
        raise not_open_error()
    already = db.session.scalar(
        select(_members.c.id).where(_members.c.group_id == group_id, _members.c.user_id == user_id)
    )
    if already is not None:
        raise joined_error()
    if group.taken >= group.size:
        raise full_error()


def join_group(
    claims: TokenClaims,
    group_id: int,
    address: Address | int,
    remark: str = "",
    coupon_id: int | None = None,
    expected_payable_fen: int | None = None,
) -> dict[str, Any]:
    """Place a member's order in open group `group_id`; returns the order as
    `shop.orders.create_order` does, plus `group_id`. Raises NotFound `group_id`,
    Conflict `group_not_open` (not open, past its deadline, or the activity over),
    `group_joined`, `group_full`, `sold_out`, `retry`, and what
    `shop.activity_orders.place_activity_order` raises. Nothing is written on failure."""
    now = utcnow()
    try:
        group = _read_group(group_id)
        _check_group(group, group_id, claims.user_id, now)
        offer = read_offer(group.group_sku_id)
        _check(offer, now)
    finally:
        db.session.rollback()

    def take(order: dict[str, Any]) -> None:
        insert_ignore(
            _members,
            group_id=group_id,
            user_id=claims.user_id,
            order_id=order["id"],
            is_leader=False,
            status=MemberStatus.RESERVED,
            created_at=utcnow(),
        )
        mine = db.session.scalar(
            select(_members.c.order_id).where(
                _members.c.group_id == group_id, _members.c.user_id == claims.user_id
            )
        )
        if mine != order["id"]:
            raise joined_error()
        seat = db.session.execute(
            update(_groups)
            .where(
                _groups.c.id == group_id,
                _groups.c.status == GroupStatus.OPEN,
                _groups.c.taken < _groups.c.size,
            )
            .values(taken=_groups.c.taken + 1)
        )
        if seat.rowcount != 1:
            status = db.session.scalar(select(_groups.c.status).where(_groups.c.id == group_id))
            raise full_error() if status == GroupStatus.OPEN else not_open_error()
        _take_unit(offer)
        holds.hold(order["id"], KIND)

    placed = _place(claims, offer, address, take, remark, coupon_id, expected_payable_fen)
    return {**placed, "group_id": group_id}
