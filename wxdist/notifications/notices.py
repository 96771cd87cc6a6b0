"""What each notice says, built when its event arrives (after the event's commit) and
queued through `sender.queue_notice`. Values are written in the shopper's language of the
mini-program, Chinese (whatever the language of the request that caused the event), and
fit the keyword types of the development templates (config/messages.py): a merchant whose
templates name other keywords maps them here.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.core.clock import to_local
from wxdist.core.extensions import db
from wxdist.core.i18n import DEFAULT_LOCALE
from wxdist.core.money import yuan_text
from wxdist.models import (
    DeliveryCompany,
    Order,
    Product,
    Shipment,
    Sku,
    StaffUser,
    User,
    Withdrawal,
)
from wxdist.models.types import utcnow
from wxdist.notifications.sender import queue_notice

ORDER_PAGE = "pages/order/detail?id={id}"
AFTERSALE_PAGE = "pages/aftersale/detail?id={id}"
DISTRIBUTOR_PAGE = "pages/distributor/index"
STOCK_PAGE = "pages/index/index"


def _when(moment: datetime | None) -> str:
    return to_local(moment or utcnow()).strftime("%Y-%m-%d %H:%M")


def _aftersale_phrases() -> dict[str, str]:
    """An after-sale's new status in five Chinese characters at most (a `phrase`)."""
    return {
        "agreed": _("Request agreed"),
        "refused": _("Request refused"),
        "receipt_refused": _("Return refused"),
        "refunded": _("Refund completed"),
        "closed": _("Request closed"),
    }


def _parcel(shipment: Shipment | None) -> str:
    """The package's carrier (WeChat's name for its code, from the cached list) and tracking
    number; empty for virtual goods and pickup."""
    if shipment is None or not shipment.delivery_id:
        return ""
    name = db.session.scalar(
        select(DeliveryCompany.name).where(DeliveryCompany.delivery_id == shipment.delivery_id)
    )
    return " ".join(p for p in (name or shipment.delivery_id, shipment.tracking_no) if p)


def order_shipped(order_id: int, shipment_id: int | None) -> int | None:
    """The shopper's package left: one notice per package of a split delivery, naming the
    goods in it, its carrier and tracking number."""
    order = db.session.get(Order, order_id)
    if order is None:
        return None
    shipment = db.session.get(Shipment, shipment_id) if shipment_id is not None else None
    if shipment is not None and shipment.order_id != order_id:
        shipment = None
    with force_locale(DEFAULT_LOCALE):
        in_parcel = {item.order_item_id for item in shipment.items} if shipment else set()
        items = [item for item in order.items if item.id in in_parcel] or order.items
        first = items[0].title if items else order.order_no
        goods = first if len(items) <= 1 else _("%(title)s and more", title=first)
        values = {
            "character_string1": order.order_no,
            "thing2": goods,
            "thing3": _parcel(shipment) or _("See the order for tracking"),
            "time4": _when(shipment.created_at if shipment else order.shipped_at),
        }
    key = f"shipped:{order_id}:{shipment_id if shipment_id is not None else 'order'}"
    return queue_notice("order_shipped", order.user_id, values, ORDER_PAGE.format(id=order_id), key)


def aftersale_result(aftersale_id: int, user_id: int, status: str) -> int | None:
    """The shopper's after-sale ended or moved on; a cancellation (the shopper's own) is
    not told back."""
    with force_locale(DEFAULT_LOCALE):
        phrase = _aftersale_phrases().get(status)
        if phrase is None:
            return None
        values = {
            "character_string1": f"AS{aftersale_id}",
            "phrase2": phrase,
            "time3": _when(None),
            "thing4": _("Open the mini-program for details"),
        }
    return queue_notice(
        "aftersale_result",
        user_id,
        values,
        AFTERSALE_PAGE.format(id=aftersale_id),
        f"aftersale:{aftersale_id}:{status}",
    )


def commission_settled(beneficiary_id: int, amount_fen: int, order_id: int | None) -> int | None:
    if amount_fen <= 0:
        return None
    with force_locale(DEFAULT_LOCALE):
        values = {
            "amount1": yuan_text(amount_fen),
            "time2": _when(None),
            "thing3": _("Commission can now be withdrawn"),
        }
    key = f"commission:{order_id}:{beneficiary_id}" if order_id is not None else None
    return queue_notice("commission_settled", beneficiary_id, values, DISTRIBUTOR_PAGE, key)


def withdrawal_finished(withdrawal_id: int, user_id: int, status: str) -> int | None:
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or status not in ("paid", "failed"):
        return None
    paid = status == "paid"
    with force_locale(DEFAULT_LOCALE):
        values = {
            "amount1": yuan_text(withdrawal.net_fen if paid else withdrawal.amount_fen),
            "phrase2": _("Withdrawal paid") if paid else _("Withdrawal failed"),
            "time3": _when(withdrawal.ended_at),
            "thing4": _("Please check your account")
            if paid
            else _("The money is back in your balance"),
        }
    return queue_notice(
        "withdrawal_finished",
        user_id,
        values,
        DISTRIBUTOR_PAGE,
        f"withdrawal:{withdrawal_id}:{status}:{withdrawal.retries}",
    )


def distributor_approved(user_id: int) -> int | None:
    with force_locale(DEFAULT_LOCALE):
        values = {
            "phrase1": _("Application approved"),
            "time2": _when(None),
            "thing3": _("Share products and earn commission"),
        }
    return queue_notice(
        "distributor_approved", user_id, values, DISTRIBUTOR_PAGE, f"approved:{user_id}"
    )


def stock_alert_recipients() -> list[int]:
    """The mini-program accounts of active staff who switched stock alerts on (each once;
    a deleted account is left out)."""
    return list(
        db.session.scalars(
            select(StaffUser.alert_user_id)
            .join(User, User.id == StaffUser.alert_user_id)
            .where(
                StaffUser.active.is_(True),
                StaffUser.stock_alerts.is_(True),
                User.deleted_at.is_(None),
            )
            .distinct()
            .order_by(StaffUser.alert_user_id)
        )
    )


def stock_alert(sku_id: int, state: str, stock: int, threshold: int) -> list[int]:
    """A SKU ran low or out: a notice to each staff member who opted in (sent where their
    account has a consent for the template, as for shoppers). Returns the log rows'
    ids."""
    recipients = stock_alert_recipients()
    found = db.session.execute(
        select(Sku.name, Sku.code, Product.title, Product.paused_for_stock)
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.id == sku_id)
    ).first()
    if not recipients or found is None:
        db.session.rollback()
        return []
    with force_locale(DEFAULT_LOCALE):
        if state != "out":
            what = _("Low stock (alert at %(threshold)s)", threshold=threshold)
        elif found.paused_for_stock:
            what = _("Sold out, taken off shelf")
        else:
            what = _("Sold out")
        values = {
            "thing1": found.title,
            "thing2": f"{found.name} {found.code}" if found.code else found.name,
            "number3": str(max(stock, 0)),
            "thing4": what,
            "time5": _when(None),
        }
    ids = [queue_notice("stock_alert", user_id, values, STOCK_PAGE) for user_id in recipients]
    return [log_id for log_id in ids if log_id is not None]
