"""The moves of an after-sale. Each is a compare-and-set on its status (`UPDATE … WHERE
status = :seen`, rowcount checked) with a log row in the same transaction, committed, then
announced (`core.events.aftersale_changed`). A move from the wrong state raises Conflict
409 `invalid_status`; someone else's after-sale is NotFound 404."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.models import (
    AfterSale,
    AfterSaleKind,
    AfterSaleLog,
    AfterSaleStatus,
    Order,
    OrderItem,
    Refund,
    RefundStatus,
)
from wxdist.models.types import utcnow
from wxdist.shop import refunds, shipments
from wxdist.shop.aftersale_refund import Moved, announce, moving, restock_quantity
from wxdist.shop.aftersales import rules
from wxdist.shop.aftersales.evidence import check_evidence
from wxdist.shop.orders import lock_order

S = AfterSaleStatus
BUYER, STAFF, SYSTEM = "buyer", "staff", "system"


@dataclass(frozen=True)
class Application:
    order_item_id: int
    kind: str
    quantity: int
    amount_fen: int
    reason_code: str
    description: str = ""
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Actor:
    who: str  # buyer | staff | system
    staff_id: int | None = None


def wrong_state() -> Conflict:
    return Conflict(_("the after-sale is not in a state that allows this"), code="invalid_status")


def move(
    sale_id: int,
    allowed: tuple[str, ...],
    new: str,
    actor: Actor,
    note: str = "",
    now: datetime | None = None,
    **values: object,
) -> Moved:
    """Compare-and-set `sale_id` from its current status (one of `allowed`) to `new`, with
    its log row; not committed. Raises Conflict `invalid_status` (rolled back)."""
    now = now or utcnow()
    seen = db.session.scalar(select(AfterSale.status).where(AfterSale.id == sale_id))
    if seen not in allowed:
        db.session.rollback()
        raise wrong_state()
    if new in S.FINAL:
        values.update(open_item_id=None, closed_at=now, deadline_at=None)
    moved = db.session.execute(
        update(AfterSale)
        .where(AfterSale.id == sale_id, AfterSale.status == seen)
        .values(status=new, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        raise wrong_state()
    db.session.add(
        AfterSaleLog(
            aftersale_id=sale_id,
            actor=actor.who,
            staff_id=actor.staff_id,
            from_status=seen,
            to_status=new,
            note=note[:255],
            created_at=now,
        )
    )
    user_id = db.session.scalar(select(AfterSale.user_id).where(AfterSale.id == sale_id))
    return moving(sale_id, int(user_id or 0), new)


def commit_move(moved: Moved) -> AfterSale:
    db.session.commit()
    announce(moved)
    sale = db.session.get(AfterSale, moved.aftersale_id, populate_existing=True)
    assert sale is not None
    return sale


# ---- the shopper's moves ---------------------------------------------------------------


def _applicable(user_id: int, order_item_id: int, now: datetime) -> tuple[Order, OrderItem]:
    item = db.session.get(OrderItem, order_item_id)
    order = lock_order(item.order_id) if item is not None else None
    if item is None or order is None or order.user_id != user_id:
        raise NotFound(_("no such order item"), fields={"order_item_id": _("not found")})
    if order.status not in rules.APPLICABLE:
        raise Conflict(
            _("an order that is %(status)s takes no after-sale", status=order.status),
            code="invalid_status",
        )
    ends = rules.window_ends(order)
    if ends is not None and now >= ends:
        raise Conflict(
            _("the after-sale window of this order has passed"), code="aftersale_window_closed"
        )
    return order, item


def _check_request(order: Order, item: OrderItem, data: Application) -> None:
    if data.kind not in AfterSaleKind.ALL:
        raise ApiError(_("unknown kind"), code="invalid", fields={"kind": _("unknown kind")})
    if data.reason_code not in rules.REASONS:
        raise ApiError(
            _("unknown reason"), code="invalid", fields={"reason_code": _("unknown reason")}
        )
    if data.kind == AfterSaleKind.RETURN_REFUND and data.quantity > shipments.shipped_quantity(
        item.id
    ):
        raise Conflict(
            _("a return is possible only once the order has shipped"),
            code="not_shipped",
            fields={"quantity": _("more than has shipped")},
        )
    open_one = db.session.scalar(select(AfterSale.id).where(AfterSale.open_item_id == item.id))
    if open_one is not None:
        raise Conflict(_("this item already has an after-sale open"), code="aftersale_open")
    qty_left = rules.quantity_left(item)
    if not 1 <= data.quantity <= qty_left:
        raise ApiError(
            _("quantity out of range"),
            code="invalid",
            fields={"quantity": _("between %(low)s and %(high)s", low=1, high=qty_left)},
        )
    cap = rules.amount_cap(item, data.quantity, qty_left, rules.amount_left(order, item))
    if not 1 <= data.amount_fen <= cap:
        raise ApiError(
            _("refund amount out of range"),
            code="invalid",
            fields={"amount_fen": _("between %(low)s and %(high)s", low=1, high=cap)},
        )


def apply(user_id: int, data: Application, now: datetime | None = None) -> AfterSale:
    """Open an after-sale on one of the shopper's order lines. Raises NotFound (not theirs),
    Conflict (`invalid_status`, `aftersale_window_closed`, `not_shipped`, `aftersale_open`),
    ApiError naming the field (quantity, amount_fen, reason_code, kind, evidence)."""
    now = now or utcnow()
    try:
        order, item = _applicable(user_id, data.order_item_id, now)
        _check_request(order, item, data)
        evidence = check_evidence(data.evidence)
    except ApiError:
        db.session.rollback()
        raise
    sale = AfterSale(
        order_id=order.id,
        order_item_id=item.id,
        open_item_id=item.id,
        user_id=user_id,
        kind=data.kind,
        status=S.APPLIED,
        quantity=data.quantity,
        amount_fen=data.amount_fen,
        reason_code=data.reason_code,
        description=data.description[:500],
        evidence=evidence,
        deadline_at=now + rules.days("AFTERSALE_AGREE_DAYS"),
        created_at=now,
        updated_at=now,
    )
    db.session.add(sale)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _("this item already has an after-sale open"), code="aftersale_open"
        ) from None
    db.session.add(
        AfterSaleLog(
            aftersale_id=sale.id, actor=BUYER, to_status=S.APPLIED, note="", created_at=now
        )
    )
    return commit_move(moving(sale.id, user_id, S.APPLIED))


def user_aftersale(user_id: int, sale_id: int) -> AfterSale:
    sale = db.session.get(AfterSale, sale_id)
    if sale is None or sale.user_id != user_id:
        raise NotFound(_("no such after-sale"), fields={"aftersale_id": _("not found")})
    return sale


def cancel(user_id: int, sale_id: int, seen_status: str | None = None) -> AfterSale:
    """The shopper withdraws an after-sale still applied or agreed (before shipping back).
    `seen_status`: the status the shopper was shown; if it moved since, 409."""
    user_aftersale(user_id, sale_id)
    allowed = (S.APPLIED, S.AGREED)
    if seen_status is not None:
        allowed = tuple(s for s in allowed if s == seen_status)
    return commit_move(move(sale_id, allowed, S.CANCELLED, Actor(BUYER)))


def ship_back(user_id: int, sale_id: int, carrier: str, tracking_no: str) -> AfterSale:
    """The shopper sent the goods of an agreed return back."""
    sale = user_aftersale(user_id, sale_id)
    if sale.kind != AfterSaleKind.RETURN_REFUND:
        raise wrong_state()
    moved = move(
        sale_id,
        (S.AGREED,),
        S.BUYER_SHIPPED,
        Actor(BUYER),
        f"{carrier} {tracking_no}",
        carrier=carrier[:64],
        tracking_no=tracking_no[:64],
        deadline_at=None,
    )
    return commit_move(moved)


# ---- staff's (and the sweep's) moves ------------------------------------------------------


def agree(sale_id: int, actor: Actor, note: str = "", now: datetime | None = None) -> AfterSale:
    now = now or utcnow()
    sale = db.session.get(AfterSale, sale_id)
    if sale is None:
        raise NotFound(_("no such after-sale"))
    deadline = (
        now + rules.days("AFTERSALE_SHIPBACK_DAYS")
        if sale.kind == AfterSaleKind.RETURN_REFUND
        else None
    )
    return commit_move(
        move(sale_id, (S.APPLIED,), S.AGREED, actor, note, now, deadline_at=deadline)
    )


def refuse(sale_id: int, actor: Actor, reason: str) -> AfterSale:
    if not reason.strip():
        raise ApiError(_("give a reason"), code="invalid", fields={"reason": _("required")})
    moved = move(sale_id, (S.APPLIED,), S.REFUSED, actor, reason, refuse_reason=reason[:255])
    return commit_move(moved)


def receive(sale_id: int, actor: Actor, sellable: bool) -> AfterSale:
    """Staff received the returned goods; sellable ones go back into stock."""
    moved = move(
        sale_id,
        (S.BUYER_SHIPPED,),
        S.RECEIVED,
        actor,
        sellable=sellable,
    )
    if sellable:
        sale = db.session.get(AfterSale, sale_id, populate_existing=True)
        assert sale is not None
        restock_quantity(sale)
    return commit_move(moved)


def refuse_receipt(sale_id: int, actor: Actor, reason: str) -> AfterSale:
    if not reason.strip():
        raise ApiError(_("give a reason"), code="invalid", fields={"reason": _("required")})
    moved = move(
        sale_id, (S.BUYER_SHIPPED,), S.RECEIPT_REFUSED, actor, reason, refuse_reason=reason[:255]
    )
    return commit_move(moved)


def _refund_from(sale: AfterSale) -> tuple[str, ...]:
    """The states a refund may start from: agreed refund-only, received, or refunding whose
    refund failed (sent again)."""
    if sale.status == S.REFUNDING:
        refund = db.session.get(Refund, sale.refund_id) if sale.refund_id else None
        return (S.REFUNDING,) if refund is None or refund.status == RefundStatus.FAILED else ()
    if sale.status == S.AGREED and sale.kind == AfterSaleKind.REFUND_ONLY:
        return (S.AGREED,)
    return (S.RECEIVED,) if sale.status == S.RECEIVED else ()


def start_refund(sale_id: int, actor: Actor) -> AfterSale:
    """Refund the after-sale's amount through the order's pay channel; it stays refunding
    until the refund settles (`follow.follow_refund`). Raises Conflict `invalid_status`, or
    what `refunds.prepare_refund` raises (amount no longer left, order busy)."""
    sale = db.session.get(AfterSale, sale_id, populate_existing=True)
    if sale is None:
        raise NotFound(_("no such after-sale"))
    allowed = _refund_from(sale)
    if not allowed:
        db.session.rollback()
        raise wrong_state()
    try:
        refund = refunds.prepare_refund(
            sale.order_id, sale.amount_fen, f"after-sale {sale.id}", sale.order_item_id
        )
    except ApiError:
        db.session.rollback()
        raise
    moved = move(sale_id, allowed, S.REFUNDING, actor, refund.out_refund_no, refund_id=refund.id)
    refund_id = refund.id
    sale = commit_move(moved)
    refunds.send_refund(refund_id)
    db.session.refresh(sale)
    return sale
