"""Staff's side of flash sales: saving an activity (its slots and SKUs) and reading its
sales. The panel commits; these functions do not.

An activity SKU's `stock` is what staff set; `stock_left` moves with it by the difference
(`stock_left + (new − stock)`, refused below zero: staff cannot take back units that live
orders hold). An activity stock above what the SKU itself has left is refused at save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from wxdist.core.errors import BadRequest, NotFound
from wxdist.core.extensions import db
from wxdist.marketing.flash_sales import soldout
from wxdist.models import (
    CommissionMode,
    FlashActivity,
    FlashOrder,
    FlashSku,
    FlashSlot,
    Order,
    OrderStatus,
    Product,
    Sku,
)

MAX_SLOTS = 20
MAX_SKUS = 50


@dataclass(frozen=True)
class SkuSpec:
    sku_id: int
    price_fen: int
    stock: int


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    slots: list[tuple[datetime, datetime]]
    skus: list[SkuSpec]
    per_user_limit: int = 1
    per_order_limit: int = 1
    commission_mode: str = CommissionMode.NONE
    coupons_allowed: bool = False
    enabled: bool = True
    problems: dict[str, str] = field(default_factory=dict)  # found by the form already


def _invalid(fields: dict[str, str]) -> BadRequest:
    return BadRequest(_("Please correct the fields marked."), code="invalid", fields=fields)


def _spec_problems(spec: ActivitySpec) -> dict[str, str]:
    problems = dict(spec.problems)
    if not spec.name.strip() or len(spec.name) > 64:
        problems["name"] = _("Give the activity a name of at most 64 characters.")
    if not spec.slots or len(spec.slots) > MAX_SLOTS:
        problems["slots"] = _("Give between 1 and %(count)s time slots.", count=MAX_SLOTS)
    elif any(end <= start for start, end in spec.slots):
        problems["slots"] = _("Each time slot must end after it starts.")
    if not spec.skus or len(spec.skus) > MAX_SKUS:
        problems["skus"] = _("Give between 1 and %(count)s SKUs.", count=MAX_SKUS)
    elif len({s.sku_id for s in spec.skus}) != len(spec.skus):
        problems["skus"] = _("A SKU appears twice.")
    if not 1 <= spec.per_user_limit <= 999:
        problems["per_user_limit"] = _("Between 1 and 999.")
    if not 1 <= spec.per_order_limit <= 999:
        problems["per_order_limit"] = _("Between 1 and 999.")
    if spec.commission_mode not in CommissionMode.ALL:
        problems["commission_mode"] = _("Not a valid choice.")
    return problems


def _sku_problems(spec: ActivitySpec, held: dict[int, FlashSku]) -> dict[str, str]:
    """Price below the list price, stock ≥ 0 and within the SKU's own stock (what the
    activity has not taken yet), and no less than what live orders hold."""
    ids = [s.sku_id for s in spec.skus]
    skus = {s.id: s for s in db.session.scalars(select(Sku).where(Sku.id.in_(ids)))}
    problems: dict[str, str] = {}
    for i, item in enumerate(spec.skus):
        sku = skus.get(item.sku_id)
        if sku is None:
            problems[f"skus.{i}.sku_id"] = _("No such SKU.")
            continue
        if not 1 <= item.price_fen <= sku.price_fen:
            problems[f"skus.{i}.price_fen"] = _(
                "The activity price must be 0.01 up to the list price."
            )
        current = held.get(item.sku_id)
        taken = 0 if current is None else current.stock - current.stock_left
        if item.stock < taken:
            problems[f"skus.{i}.stock"] = _(
                "Live orders hold %(count)s units: the stock cannot be lower.", count=taken
            )
        elif item.stock - taken > sku.stock:
            problems[f"skus.{i}.stock"] = _("The SKU has only %(count)s in stock.", count=sku.stock)
    return problems


def save_activity(spec: ActivitySpec, activity_id: int | None = None) -> FlashActivity:
    """Create the activity, or replace `activity_id`'s settings, slots and SKUs (not
    committed). Raises BadRequest `invalid` naming each field (`skus.N.stock` above the
    SKU's stock or below what live orders hold, `skus.N.sku_id` for an unknown SKU or
    one removed while orders hold it), NotFound for an unknown activity; rolls back."""
    activity = (
        FlashActivity() if activity_id is None else db.session.get(FlashActivity, activity_id)
    )
    if activity is None:
        raise NotFound(_("No such flash sale."), fields={"activity_id": _("not found")})
    held: dict[int, FlashSku] = {}
    if activity_id is not None:
        held = {
            s.sku_id: s
            for s in db.session.scalars(
                select(FlashSku).where(FlashSku.activity_id == activity_id).with_for_update()
            )
        }
    problems = _spec_problems(spec) or _sku_problems(spec, held)
    kept = {s.sku_id for s in spec.skus}
    for sku_id, gone in held.items():
        if sku_id not in kept and _has_orders(gone.id):
            problems["skus"] = _("A SKU with orders cannot be removed; set its stock instead.")
    if problems:
        db.session.rollback()
        raise _invalid(problems)
    activity.name = spec.name.strip()
    activity.per_user_limit = spec.per_user_limit
    activity.per_order_limit = spec.per_order_limit
    activity.commission_mode = spec.commission_mode
    activity.coupons_allowed = spec.coupons_allowed
    activity.enabled = spec.enabled
    db.session.add(activity)
    db.session.flush()
    _save_slots(activity.id, spec.slots)
    _save_skus(activity.id, spec.skus, held)
    return activity


def _has_orders(flash_sku_id: int) -> bool:
    return (
        db.session.scalar(
            select(FlashOrder.order_id).where(FlashOrder.flash_sku_id == flash_sku_id).limit(1)
        )
        is not None
    )


def _save_slots(activity_id: int, slots: list[tuple[datetime, datetime]]) -> None:
    db.session.execute(delete(FlashSlot).where(FlashSlot.activity_id == activity_id))
    for start, end in sorted(slots):
        db.session.add(FlashSlot(activity_id=activity_id, starts_at=start, ends_at=end))


def _save_skus(activity_id: int, specs: list[SkuSpec], held: dict[int, FlashSku]) -> None:
    kept = {s.sku_id for s in specs}
    for sku_id, gone in held.items():
        if sku_id not in kept:
            db.session.delete(gone)
    for item in specs:
        current = held.get(item.sku_id)
        if current is None:
            db.session.add(
                FlashSku(
                    activity_id=activity_id,
                    sku_id=item.sku_id,
                    price_fen=item.price_fen,
                    stock=item.stock,
                    stock_left=item.stock,
                )
            )
            continue
        # The row is locked (read FOR UPDATE), so its stock is the one read; the difference
        # is bound, not written as `new - stock`: MySQL assigns SET columns left to right,
        # each seeing the ones before it.
        db.session.execute(
            update(FlashSku)
            .where(FlashSku.id == current.id)
            .values(
                price_fen=item.price_fen,
                stock_left=FlashSku.stock_left + (item.stock - current.stock),
                stock=item.stock,
            )
        )
        if item.stock > current.stock:
            soldout.clear_after_commit(db.session(), current.id)
    db.session.flush()


@dataclass(frozen=True)
class SkuSales:
    flash_sku_id: int
    sku_id: int
    title: str
    sku_name: str
    price_fen: int
    list_price_fen: int
    stock: int
    stock_left: int
    sold: int  # units in live orders
    orders: int  # live orders
    paid_orders: int


def _live() -> Any:
    return Order.status.not_in((OrderStatus.CANCELLED, OrderStatus.CLOSED))


def sales(activity_id: int) -> list[SkuSales]:
    """Per activity SKU: units and orders live, orders paid, stock left."""
    counts = (
        select(
            FlashOrder.flash_sku_id,
            func.sum(FlashOrder.quantity).label("sold"),
            func.count().label("orders"),
            func.count(Order.paid_at).label("paid"),
        )
        .join(Order, Order.id == FlashOrder.order_id)
        .where(FlashOrder.activity_id == activity_id, _live())
        .group_by(FlashOrder.flash_sku_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            FlashSku.id,
            Sku.id,
            Product.title,
            Sku.name,
            FlashSku.price_fen,
            Sku.price_fen,
            FlashSku.stock,
            FlashSku.stock_left,
            func.coalesce(counts.c.sold, 0),
            func.coalesce(counts.c.orders, 0),
            func.coalesce(counts.c.paid, 0),
        )
        .join(Sku, Sku.id == FlashSku.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .outerjoin(counts, counts.c.flash_sku_id == FlashSku.id)
        .where(FlashSku.activity_id == activity_id)
        .order_by(FlashSku.id)
    ).all()
    return [SkuSales(*row) for row in rows]


def orders(activity_id: int, limit: int = 200) -> list[Any]:
    """The activity's orders, newest first: order id and number, status, user, SKU,
    quantity, payable, placed at."""
    return list(
        db.session.execute(
            select(
                Order.id,
                Order.order_no,
                Order.status,
                Order.user_id,
                FlashOrder.flash_sku_id,
                FlashOrder.quantity,
                Order.payable_fen,
                Order.created_at,
            )
            .join(Order, Order.id == FlashOrder.order_id)
            .where(FlashOrder.activity_id == activity_id)
            .order_by(FlashOrder.order_id.desc())
            .limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class ActivityRow:
    activity: FlashActivity
    first_start: datetime | None
    last_end: datetime | None
    skus: int
    stock: int
    stock_left: int


def activity_rows(limit: int = 200) -> list[ActivityRow]:
    """The newest activities with their first start, last end and stock totals."""
    slots = (
        select(
            FlashSlot.activity_id,
            func.min(FlashSlot.starts_at).label("first"),
            func.max(FlashSlot.ends_at).label("last"),
        )
        .group_by(FlashSlot.activity_id)
        .subquery()
    )
    stock = (
        select(
            FlashSku.activity_id,
            func.count().label("n"),
            func.sum(FlashSku.stock).label("stock"),
            func.sum(FlashSku.stock_left).label("left"),
        )
        .group_by(FlashSku.activity_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            FlashActivity,
            slots.c.first,
            slots.c.last,
            func.coalesce(stock.c.n, 0),
            func.coalesce(stock.c.stock, 0),
            func.coalesce(stock.c.left, 0),
        )
        .outerjoin(slots, slots.c.activity_id == FlashActivity.id)
        .outerjoin(stock, stock.c.activity_id == FlashActivity.id)
        .order_by(FlashActivity.id.desc())
        .limit(limit)
    ).all()
    return [ActivityRow(*row) for row in rows]


def activity_parts(activity_id: int) -> tuple[FlashActivity, list[FlashSlot], list[FlashSku]]:
    """The activity, its slots and its SKUs. Raises NotFound."""
    activity = db.session.get(FlashActivity, activity_id)
    if activity is None:
        raise NotFound(_("No such flash sale."), fields={"activity_id": _("not found")})
    slots = db.session.scalars(
        select(FlashSlot).where(FlashSlot.activity_id == activity_id).order_by(FlashSlot.starts_at)
    ).all()
    skus = db.session.scalars(
        select(FlashSku).where(FlashSku.activity_id == activity_id).order_by(FlashSku.id)
    ).all()
    return activity, list(slots), list(skus)
