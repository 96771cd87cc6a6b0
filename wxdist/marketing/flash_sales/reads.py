"""What the mini-program shows of flash sales: the activities on now or coming, and one
activity's items with the user's purchases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.core.errors import NotFound
from wxdist.core.extensions import db
from wxdist.models import FlashActivity, FlashQuota, FlashSku, FlashSlot, Product, Sku


@dataclass(frozen=True)
class SlotView:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class ActivityView:
    id: int
    name: str
    state: str  # live | upcoming
    slots: list[SlotView]
    countdown_seconds: int  # to the open slot's end (live), to the next start (upcoming)
    per_user_limit: int
    per_order_limit: int
    coupons_allowed: bool


@dataclass(frozen=True)
class ItemView:
    flash_sku_id: int
    sku_id: int
    product_id: int
    title: str
    sku_name: str
    image_url: str
    price_fen: int
    list_price_fen: int
    stock: int
    stock_left: int


def _view(activity: FlashActivity, slots: list[FlashSlot], now: datetime) -> ActivityView | None:
    """The activity as shown now, or None when every slot is over."""
    coming = [s for s in slots if s.ends_at > now]
    if not coming:
        return None
    live = next((s for s in coming if s.starts_at <= now), None)
    target = live.ends_at if live is not None else min(s.starts_at for s in coming)
    return ActivityView(
        id=activity.id,
        name=activity.name,
        state="live" if live is not None else "upcoming",
        slots=[SlotView(s.starts_at, s.ends_at) for s in coming],
        countdown_seconds=max(0, int((target - now).total_seconds())),
        per_user_limit=activity.per_user_limit,
        per_order_limit=activity.per_order_limit,
        coupons_allowed=activity.coupons_allowed,
    )


def activities(now: datetime) -> list[ActivityView]:
    """Enabled activities with a slot open now or to come: live ones first, then by the
    next start."""
    rows = db.session.execute(
        select(FlashActivity, FlashSlot)
        .join(FlashSlot, FlashSlot.activity_id == FlashActivity.id)
        .where(FlashActivity.enabled.is_(True), FlashSlot.ends_at > now)
        .order_by(FlashActivity.id, FlashSlot.starts_at)
    ).all()
    grouped: dict[int, tuple[FlashActivity, list[FlashSlot]]] = {}
    for activity, slot in rows:
        grouped.setdefault(activity.id, (activity, []))[1].append(slot)
    views = [v for a, s in grouped.values() if (v := _view(a, s, now)) is not None]
    return sorted(views, key=lambda v: (v.state != "live", v.slots[0].starts_at, v.id))


def activity(activity_id: int, now: datetime) -> ActivityView:
    """One enabled activity with a slot open or to come. Raises NotFound `activity_id`."""
    found = db.session.get(FlashActivity, activity_id)
    slots = db.session.scalars(
        select(FlashSlot).where(FlashSlot.activity_id == activity_id).order_by(FlashSlot.starts_at)
    ).all()
    view = _view(found, list(slots), now) if found is not None and found.enabled else None
    if view is None:
        raise NotFound(_("no such flash sale"), fields={"activity_id": _("not found")})
    return view


def items(activity_id: int) -> list[ItemView]:
    """The activity's SKUs with their product, list price and activity stock."""
    rows = db.session.execute(
        select(
            FlashSku.id,
            Sku.id,
            Product.id,
            Product.title,
            Sku.name,
            Product.cover_url,
            FlashSku.price_fen,
            Sku.price_fen,
            FlashSku.stock,
            FlashSku.stock_left,
        )
        .join(Sku, Sku.id == FlashSku.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .where(FlashSku.activity_id == activity_id)
        .order_by(FlashSku.id)
    ).all()
    return [ItemView(*row[:5], row[5] or "", *row[6:]) for row in rows]


def bought(activity_id: int, user_id: int) -> int:
    """Units of the activity the user holds in live orders."""
    return (
        db.session.scalar(
            select(FlashQuota.bought).where(
                FlashQuota.activity_id == activity_id, FlashQuota.user_id == user_id
            )
        )
        or 0
    )
