"""After-sales: the queue (filter by status; each deadline and the time left shown) and one
after-sale's page with staff's moves — agree, refuse with a reason, mark the return
received (sellable or not), refuse the receipt, start (or send again) the refund — each
audited. Reads from `queries.aftersales`, moves through `shop.aftersales.service`."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from wxdist.core.errors import ApiError
from wxdist.models import AfterSaleKind, AfterSaleStatus, RefundStatus
from wxdist.models.types import utcnow
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.filters import fen
from wxdist.panel.queries import aftersales as queries
from wxdist.panel.ui import audited, choice_arg, page_arg
from wxdist.shop.aftersales import service
from wxdist.shop.aftersales.rules import REASONS

S = AfterSaleStatus


class ActionForm(FlaskForm):
    """A move with nothing to fill in (agree, start refund): its CSRF token."""


class ReasonForm(FlaskForm):
    reason = StringField(
        _l("Reason"),
        validators=[
            DataRequired(message=_l("Enter the reason the shopper will read.")),
            Length(max=255, message=_l("Reason: at most 255 characters.")),
        ],
    )


class ReceiveForm(FlaskForm):
    sellable = RadioField(
        _l("Condition of the returned goods"),
        choices=[("yes", _l("Sellable: back into stock")), ("no", _l("Not sellable"))],
        default="yes",
        validators=[DataRequired(message=_l("Choose the condition."))],
    )


def time_left(deadline: datetime | None) -> str:
    """What staff read for a deadline: days and hours left, or overdue."""
    if deadline is None:
        return ""
    seconds = int((deadline - utcnow()).total_seconds())
    if seconds <= 0:
        return _("overdue")
    return _("%(days)s d %(hours)s h left", days=seconds // 86400, hours=seconds % 86400 // 3600)


@panel_bp.get("/aftersales")
@area("orders")
def aftersales():  # type: ignore[no-untyped-def]
    status = choice_arg("status", S.ALL)
    return render_template(
        "panel/aftersales.html",
        page=queries.aftersale_page(page_arg(), status),
        status=status,
        statuses=S.ALL,
        reasons=REASONS,
        time_left=time_left,
    )


def _facts(sale_id: int) -> queries.AfterSaleFacts:
    facts = queries.aftersale(sale_id)
    if facts is None:
        abort(404)
    return facts


def _can_refund(facts: queries.AfterSaleFacts) -> bool:
    sale = facts.sale
    if sale.status == S.REFUNDING:
        return facts.refund is None or facts.refund.status == RefundStatus.FAILED
    return sale.status == S.RECEIVED or (
        sale.status == S.AGREED and sale.kind == AfterSaleKind.REFUND_ONLY
    )


def _render(sale_id: int, status: int = 200, **forms: FlaskForm):  # type: ignore[no-untyped-def]
    facts = _facts(sale_id)
    body = render_template(
        "panel/aftersale_detail.html",
        facts=facts,
        sale=facts.sale,
        reason=REASONS.get(facts.sale.reason_code, facts.sale.reason_code),
        time_left=time_left(facts.sale.deadline_at),
        can_refund=_can_refund(facts),
        action_form=ActionForm(formdata=None),
        refuse_form=forms.get("refuse_form") or ReasonForm(formdata=None, prefix="refuse"),
        receipt_form=forms.get("receipt_form") or ReasonForm(formdata=None, prefix="receipt"),
        receive_form=forms.get("receive_form") or ReceiveForm(formdata=None),
    )
    return body, status


@panel_bp.get("/aftersales/<int:aftersale_id>")
@area("orders")
def aftersale_detail(aftersale_id: int):  # type: ignore[no-untyped-def]
    return _render(aftersale_id)


def _staff() -> service.Actor:
    return service.Actor(service.STAFF, current_user.id)


def _state(sale_id: int) -> dict[str, object]:
    sale = _facts(sale_id).sale
    return {"status": sale.status, "amount_fen": sale.amount_fen, "refund_id": sale.refund_id}


def _done(sale_id: int, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for("panel.aftersale_detail", aftersale_id=sale_id), 303)


@panel_bp.post("/aftersales/<int:aftersale_id>/agree")
@area("orders")
def aftersale_agree(aftersale_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate():
        abort(400)
    with audited("aftersale.agree", "aftersale", aftersale_id, _state(aftersale_id)) as note:
        sale = service.agree(aftersale_id, _staff())
        note.after = {"status": sale.status}
    return _done(aftersale_id, _("Agreed."))


@panel_bp.post("/aftersales/<int:aftersale_id>/refuse")
@area("orders")
def aftersale_refuse(aftersale_id: int):  # type: ignore[no-untyped-def]
    form = ReasonForm(prefix="refuse")
    if not form.validate():
        return _render(aftersale_id, 400, refuse_form=form)
    with audited("aftersale.refuse", "aftersale", aftersale_id, _state(aftersale_id)) as note:
        sale = service.refuse(aftersale_id, _staff(), form.reason.data.strip())
        note.after = {"status": sale.status, "reason": sale.refuse_reason}
    return _done(aftersale_id, _("Refused."))


@panel_bp.post("/aftersales/<int:aftersale_id>/receive")
@area("orders")
def aftersale_receive(aftersale_id: int):  # type: ignore[no-untyped-def]
    form = ReceiveForm()
    if not form.validate():
        return _render(aftersale_id, 400, receive_form=form)
    sellable = form.sellable.data == "yes"
    with audited("aftersale.receive", "aftersale", aftersale_id, _state(aftersale_id)) as note:
        sale = service.receive(aftersale_id, _staff(), sellable)
        note.after = {"status": sale.status, "sellable": sellable, "restocked": sale.restocked_qty}
    return _done(aftersale_id, _("Return received."))


@panel_bp.post("/aftersales/<int:aftersale_id>/refuse-receipt")
@area("orders")
def aftersale_refuse_receipt(aftersale_id: int):  # type: ignore[no-untyped-def]
    form = ReasonForm(prefix="receipt")
    if not form.validate():
        return _render(aftersale_id, 400, receipt_form=form)
    before = _state(aftersale_id)
    with audited("aftersale.refuse_receipt", "aftersale", aftersale_id, before) as note:
        sale = service.refuse_receipt(aftersale_id, _staff(), form.reason.data.strip())
        note.after = {"status": sale.status, "reason": sale.refuse_reason}
    return _done(aftersale_id, _("Receipt refused."))


@panel_bp.post("/aftersales/<int:aftersale_id>/refund")
@area("orders")
def aftersale_refund(aftersale_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate():
        abort(400)
    try:
        with audited("aftersale.refund", "aftersale", aftersale_id, _state(aftersale_id)) as note:
            sale = service.start_refund(aftersale_id, _staff())
            note.after = {"status": sale.status, "refund_id": sale.refund_id}
    except ApiError as exc:
        if exc.status != 400:
            raise
        flash(exc.message + " " + " ".join(exc.fields.values()), "error")
        return redirect(url_for("panel.aftersale_detail", aftersale_id=aftersale_id), 303)
    return _done(
        aftersale_id,
        _(
            "Refund of %(amount)s sent; the after-sale is refunded when the gateway confirms.",
            amount=fen(sale.amount_fen),
        ),
    )
