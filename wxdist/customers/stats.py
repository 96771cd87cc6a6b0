"""Each customer's figures (`customer_stats`), moved inside the transaction of the change
(see the package docstring). Every function here runs inside the sender's transaction:
none commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, insert, select, update

from wxdist.core.events import AttributedOrder
from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore
from wxdist.models import CustomerStat, Order, ReferralBinding, User, UserTag

_stats = CustomerStat.__table__


def ensure(user_ids: Iterable[int]) -> None:
    """Give each of `user_ids` that has none its row (from the user's creation time): for
    users made without an account's `user_joined` (seeded, imported). Reads without locking
    (an INSERT … SELECT would share-lock rows the caller then updates: two transactions
    upgrading shared locks deadlock)."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    have = set(db.session.scalars(select(_stats.c.user_id).where(_stats.c.user_id.in_(ids))))
    missing = [i for i in ids if i not in have]
    if not missing:  # the usual case: `user_joined` made every row
        return
    for user_id, created_at in db.session.execute(
        select(User.id, User.created_at).where(User.id.in_(missing))
    ).all():
        insert_ignore(
            _stats, user_id=user_id, created_at=created_at, channel="", orders=0, spend_fen=0
        )


def joined(user_id: int, created_at: datetime) -> None:
    """A new account: its row, empty."""
    db.session.execute(
        insert(_stats).values(
            user_id=user_id, created_at=created_at, channel="", orders=0, spend_fen=0
        )
    )


def bound(user_id: int, referrer_id: int) -> None:
    """`user_id` was bound to `referrer_id`: the source and the binding's channel."""
    ensure([user_id])
    channel = db.session.scalar(
        select(ReferralBinding.channel)
        .where(ReferralBinding.user_id == user_id)
        .order_by(ReferralBinding.id.desc())
        .limit(1)
    )
    db.session.execute(
        update(CustomerStat)
        .where(CustomerStat.user_id == user_id)
        .values(source_id=referrer_id, channel=channel or "")
    )


def _earlier(column: Any, value: Any) -> Any:
    return case((column.is_(None), value), (column > value, value), else_=column)


def _later(column: Any, value: Any) -> Any:
    return case((column.is_(None), value), (column < value, value), else_=column)


def attributed(orders: list[AttributedOrder]) -> None:
    """Payments were attributed: each order counts (unless a refund before took it all)
    with its paid amount net of what was refunded before."""
    figures: dict[int, list[Any]] = {}
    for order in orders:
        if order.paid_at is None:
            continue
        count, spend, first, last = figures.get(order.user_id, [0, 0, order.paid_at, order.paid_at])
        figures[order.user_id] = [
            count + (1 if order.refunded_fen < order.paid_fen else 0),
            spend + order.paid_fen - order.refunded_fen,
            min(first, order.paid_at),
            max(last, order.paid_at),
        ]
    if not figures:
        return
    ensure(figures)
    users = sorted(figures)  # one UPDATE walking the primary key in order

    def per_user(index: int) -> Any:
        return case({uid: figures[uid][index] for uid in users}, value=_stats.c.user_id)

    db.session.connection().execute(  # Core, not the ORM's bulk update: nothing to sync
        update(_stats)
        .where(_stats.c.user_id.in_(users))
        .values(
            orders=_stats.c.orders + per_user(0),
            spend_fen=_stats.c.spend_fen + per_user(1),
            first_order_at=_earlier(_stats.c.first_order_at, per_user(2)),
            last_order_at=_later(_stats.c.last_order_at, per_user(3)),
        )
    )
    _copy_to_tags(users)


def _copy_to_tags(user_ids: list[int]) -> None:
    """The users' tags take the new spend and last order (their sort keys)."""
    tags = UserTag.__table__
    mine = _stats.c.user_id == tags.c.user_id
    db.session.connection().execute(
        update(tags)
        .where(tags.c.user_id.in_(user_ids))
        .values(
            spend_fen=select(_stats.c.spend_fen).where(mine).scalar_subquery(),
            last_order_at=select(_stats.c.last_order_at).where(mine).scalar_subquery(),
        )
    )


def refunded(order: Order, refund_fen: int) -> None:
    """`refund_fen` of `order` was refunded (its `refunded_fen` already includes it). An
    order not yet attributed is left to attribution, which counts it net."""
    if order.attributed_at is None or refund_fen <= 0:
        return
    whole_now = order.refunded_fen >= order.paid_fen > order.refunded_fen - refund_fen
    ensure([order.user_id])
    db.session.execute(
        update(CustomerStat)
        .where(CustomerStat.user_id == order.user_id)
        .values(
            orders=CustomerStat.orders - (1 if whole_now else 0),
            spend_fen=CustomerStat.spend_fen - refund_fen,
        )
    )
    _copy_to_tags([order.user_id])


def expected() -> Any:
    """Per user with attributed payments, the figures the orders say (a subquery)."""
    return (
        select(
            Order.user_id.label("user_id"),
            func.sum(case((Order.refunded_fen < Order.paid_fen, 1), else_=0)).label("orders"),
            func.sum(Order.paid_fen - Order.refunded_fen).label("spend_fen"),
            func.min(Order.paid_at).label("first_order_at"),
            func.max(Order.paid_at).label("last_order_at"),
        )
        .where(Order.attributed_at.is_not(None), Order.paid_at.is_not(None))
        .group_by(Order.user_id)
        .subquery()
    )


def check(limit: int = 20) -> list[str]:
    """The customers whose row disagrees with their attributed orders (or is missing for
    one who has some): empty when every figure is right. Read only."""
    want = expected()
    problems: list[str] = []
    wrong = db.session.execute(
        select(want.c.user_id, want.c.orders, want.c.spend_fen, _stats.c.orders, _stats.c.spend_fen)
        .select_from(want.outerjoin(_stats, _stats.c.user_id == want.c.user_id))
        .where(
            (_stats.c.user_id.is_(None))
            | (_stats.c.orders != want.c.orders)
            | (_stats.c.spend_fen != want.c.spend_fen)
        )
        .limit(limit)
    ).all()
    for row in wrong:
        problems.append(
            f"customer {row[0]}: orders {row[3]} spend {row[4]} fen, "
            f"orders say {row[1]} and {row[2]} fen"
        )
    stray = db.session.execute(
        select(_stats.c.user_id)
        .where(
            and_(_stats.c.orders != 0) | (_stats.c.spend_fen != 0),
            ~exists().where(want.c.user_id == _stats.c.user_id),
        )
        .limit(limit)
    ).all()
    problems.extend(f"customer {row[0]}: figures without attributed orders" for row in stray)
    copies = db.session.execute(
        select(UserTag.user_id, UserTag.tag_id)
        .join(_stats, _stats.c.user_id == UserTag.user_id)
        .where(
            (UserTag.spend_fen != _stats.c.spend_fen)
            | (UserTag.created_at != _stats.c.created_at)
            | (UserTag.last_order_at != _stats.c.last_order_at)
            | (UserTag.last_order_at.is_(None) != _stats.c.last_order_at.is_(None))
        )
        .limit(limit)
    ).all()
    problems.extend(f"customer {u}: tag {t} holds stale figures" for u, t in copies)
    return problems
