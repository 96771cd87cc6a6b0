"""Orders: the list (newest first; search by number, receiver phone or user id; status and
date filters), one order's page with its money, shipping and attribution, and the staff
actions on it — refund whole or part — each audited (shipping: `shipment_views`).

Reads come from `wxdist.panel.queries.orders` (which says which index answers each
filter), changes from `wxdist.shop.orders` and `wxdist.shop.refunds`.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import Length, ValidationError

from wxdist.core.errors import ApiError
from wxdist.core.money import parse_yuan
from wxdist.models import Order, OrderStatus
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.filters import fen
from wxdist.panel.labels import label
from wxdist.panel.queries import orders as queries
from wxdist.panel.queries.distributors import names_of
from wxdist.panel.shipment_forms import ship_form, shipping_panel
from wxdist.panel.ui import audited, choice_arg, day_arg, page_arg
from wxdist.shop import refunds
from wxdist.shop.refunds import REFUNDABLE

SEARCHES = {
    "": "",
    "order_no": _l("Searched by order number."),
    "phone": _l("Searched by receiver phone."),
    "user_id": _l("Searched by user id."),
    "none": _l("Searched by nothing (not an order number, phone or user id)."),
}


# ---- forms -----------------------------------------------------------------------------


class RefundForm(FlaskForm):
    scope = RadioField(
        _l("Refund"),
        choices=[("whole", _l("Everything still refundable")), ("part", _l("Part"))],
        default="whole",
    )
    order_item_id = SelectField(
        _l("Item"), choices=[], default="", description=_l("For a part refund.")
    )
    amount = StringField(
        _l("Amount (yuan)"),
        validators=[Length(max=20, message=_l("Amount: at most 20 characters."))],
        description=_l("e.g. 12.50, part refunds only"),
    )
    reason = StringField(
        _l("Reason"), validators=[Length(max=255, message=_l("Reason: at most 255 characters."))]
    )

    amount_fen: int = 0

    def setup(self, order: Order) -> RefundForm:
        self.order_item_id.choices = [("", _("Spread over the items"))] + [
            (
                str(item.id),
                _(
                    "%(title)s · %(sku)s (left %(left)s)",
                    title=item.title,
                    sku=item.sku_name,
                    left=fen(item.paid_fen - item.refunded_fen),
                ),
            )
            for item in order.items
        ]
        self.order = order
        return self

    def item_id(self) -> int | None:
        return int(self.order_item_id.data) if self.order_item_id.data else None

    def validate_amount(self, field: StringField) -> None:
        order: Order = self.order
        left = order.paid_fen - order.refunded_fen
        if self.scope.data != "part":
            self.amount_fen = left
            return
        try:
            amount = parse_yuan(field.data or "")
        except ValueError:
            raise ValidationError(_("Enter an amount in yuan, like 12.50.")) from None
        if amount <= 0:
            raise ValidationError(_("The amount must be more than 0."))
        if amount > left:
            raise ValidationError(
                _("At most %(left)s is left to refund on this order.", left=fen(left))
            )
        item_id = self.item_id()
        if item_id is not None:
            item = next((i for i in order.items if i.id == item_id), None)
            if item is not None and amount > item.paid_fen - item.refunded_fen:
                raise ValidationError(
                    _(
                        "At most %(left)s is left on this item.",
                        left=fen(item.paid_fen - item.refunded_fen),
                    )
                )
        self.amount_fen = amount


# ---- list ------------------------------------------------------------------------------


def _local_day(name: str) -> date | None:
    return day_arg(name)


@panel_bp.get("/orders")
@area("orders")
def orders():  # type: ignore[no-untyped-def]
    q = request.args.get("q", "").strip()[:32]
    status = choice_arg("status", OrderStatus.ALL)
    day_from, day_to = _local_day("from"), _local_day("to")
    page = queries.order_page(page_arg(), q, status, day_from, day_to)
    search = SEARCHES[queries.search_kind(q)]
    return render_template(
        "panel/orders.html",
        page=page,
        q=q,
        search=search,
        status=status,
        statuses=OrderStatus.ALL,
        day_from=day_from.isoformat() if day_from else "",
        day_to=day_to.isoformat() if day_to else "",
    )


# ---- detail and actions ----------------------------------------------------------------


def _load(order_id: int) -> Order:
    order = queries.order(order_id)
    if order is None:
        abort(404)
    return order


def _render_detail(order: Order, status: int = 200, **forms: FlaskForm):  # type: ignore[no-untyped-def]
    facts = queries.order_facts(order)
    commission = facts.commission
    names = names_of(
        {order.referrer_l1_id or 0, order.referrer_l2_id or 0}
        | {c.beneficiary_id for c in commission}
    )
    items = {item.id: item for item in order.items}
    shipping = shipping_panel(order)
    body = render_template(
        "panel/order_detail.html",
        order=order,
        buyer=facts.buyer,
        payments=facts.payments,
        refunds=facts.refunds,
        commission=commission,
        names=names,
        items=items,
        refundable=order.paid_fen - order.refunded_fen,
        can_refund=order.status in REFUNDABLE and order.paid_fen > order.refunded_fen,
        ship_form=forms.get("ship_form") or ship_form(order, shipping.carriers),
        shipping=shipping,
        refund_form=forms.get("refund_form") or RefundForm(formdata=None).setup(order),
    )
    return body, status


@panel_bp.get("/orders/<int:order_id>")
@area("orders")
def order_detail(order_id: int):  # type: ignore[no-untyped-def]
    return _render_detail(_load(order_id))


def _attach(form: FlaskForm, exc: ApiError, rename: dict[str, str] | None = None) -> bool:
    shown = False
    for name, problem in exc.fields.items():
        field = getattr(form, (rename or {}).get(name, name), None)
        if field is not None:
            field.errors = [*field.errors, problem]
            shown = True
    return shown


def _done(order_id: int, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for("panel.order_detail", order_id=order_id), 303)


@panel_bp.post("/orders/<int:order_id>/refund")
@area("orders")
def order_refund(order_id: int):  # type: ignore[no-untyped-def]
    order = _load(order_id)
    form = RefundForm().setup(order)
    if not form.validate():
        return _render_detail(order, 400, refund_form=form)
    item_id = form.item_id() if form.scope.data == "part" else None
    before = {
        "status": order.status,
        "paid_fen": order.paid_fen,
        "refunded_fen": order.refunded_fen,
    }
    try:
        with audited("order.refund", "order", order_id, before=before) as audit:
            refund = refunds.request_refund(
                order_id, form.amount_fen, (form.reason.data or "").strip(), item_id
            )
            audit.after = {
                "refund_id": refund.id,
                "out_refund_no": refund.out_refund_no,
                "amount_fen": refund.amount_fen,
                "order_item_id": refund.order_item_id,
                "refund_status": refund.status,
            }
    except ApiError as exc:
        if exc.status != 400 or not _attach(form, exc, {"amount_fen": "amount"}):
            raise
        return _render_detail(_load(order_id), 400, refund_form=form)
    return _done(
        order_id,
        _(
            "Refund of %(amount)s sent (%(status)s); the order updates when the gateway confirms.",
            amount=fen(refund.amount_fen),
            status=label(refund.status),
        ),
    )
