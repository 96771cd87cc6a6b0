"""`flask reconcile`'s checks of flash sales (wxdist.marketing.flash_sales), one aggregate
query each:
- per activity SKU: the units its live flash-sale orders hold plus what is left equal its
  activity stock, and nothing left is negative;
- per (activity, user): the quota counter equals the units of the user's live flash-sale
  orders of the activity (a counter row without live orders must be 0).
Live: not cancelled, not closed (a refunded order still took its unit).
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from wxdist.core.extensions import db
from wxdist.models import FlashOrder, FlashQuota, FlashSku, Order, OrderStatus

LIMIT = 1000


def _live_units(*keys):  # type: ignore[no-untyped-def]
    return (
        select(*keys, func.sum(FlashOrder.quantity).label("units"))
        .join(Order, Order.id == FlashOrder.order_id)
        .where(Order.status.not_in((OrderStatus.CANCELLED, OrderStatus.CLOSED)))
        .group_by(*keys)
        .subquery()
    )


def check_activity_stock() -> list[str]:
    held = _live_units(FlashOrder.flash_sku_id)
    units = func.coalesce(held.c.units, 0)
    wrong = db.session.execute(
        select(FlashSku.id, FlashSku.stock, FlashSku.stock_left, units)
        .outerjoin(held, held.c.flash_sku_id == FlashSku.id)
        .where(or_(FlashSku.stock_left < 0, units + FlashSku.stock_left != FlashSku.stock))
        .limit(LIMIT)
    ).all()
    return [
        f"flash SKU {fid}: live orders hold {taken} + left {left} ≠ activity stock {stock}"
        for fid, stock, left, taken in wrong
    ]


def check_quotas() -> list[str]:
    held = _live_units(FlashOrder.activity_id, FlashOrder.user_id)
    units = func.coalesce(held.c.units, 0)
    wrong = db.session.execute(
        select(FlashQuota.activity_id, FlashQuota.user_id, FlashQuota.bought, units)
        .outerjoin(
            held,
            (held.c.activity_id == FlashQuota.activity_id) & (held.c.user_id == FlashQuota.user_id),
        )
        .where(FlashQuota.bought != units)
        .limit(LIMIT)
    ).all()
    counted = {(a, u) for a, u, _b, _n in wrong}
    # Live orders whose user has no counter row at all.
    missing = db.session.execute(
        select(held.c.activity_id, held.c.user_id, held.c.units)
        .outerjoin(
            FlashQuota,
            (held.c.activity_id == FlashQuota.activity_id) & (held.c.user_id == FlashQuota.user_id),
        )
        .where(FlashQuota.user_id.is_(None))
        .limit(LIMIT)
    ).all()
    return [
        f"flash activity {a}, user {u}: quota counter {bought} ≠ live orders' units {n}"
        for a, u, bought, n in wrong
    ] + [
        f"flash activity {a}, user {u}: no quota counter for live orders' units {n}"
        for a, u, n in missing
        if (a, u) not in counted
    ]


def check_all() -> list[str]:
    return [*check_activity_stock(), *check_quotas()]
