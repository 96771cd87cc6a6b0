"""Marketing, promotions: limited-time discounts (one SKU at a promotional price or 折 for
a while) and full reductions (满减 / 满折 tiers by amount or item count), each listed
with a form to create one and a button to end it.

The services (`marketing.promotions`) validate; their field errors stand beside the
form's fields (an overlapping discount beside the SKU). Every create and end is audited
(`timed_discount.create|end`, `full_reduction.create|end`).
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from wxdist.core.errors import ApiError
from wxdist.marketing import promotions as promotion_service
from wxdist.models import FullReductionRecord, OfferStatus, TimedDiscountRecord
from wxdist.models.types import utcnow
from wxdist.panel import marketing_text
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.marketing_forms import ReductionForm, StatusForm, TimedDiscountForm
from wxdist.panel.marketing_views import attach
from wxdist.panel.queries import marketing as queries
from wxdist.panel.queries.marketing import LIST_LIMIT
from wxdist.panel.ui import audited

UPCOMING = "upcoming"  # shown, never stored: active but not started yet


def phase(record: TimedDiscountRecord | FullReductionRecord, now: datetime) -> str:
    """The promotion's status as it stands now: an active one not started is upcoming, one
    past its end is ended."""
    if record.status != OfferStatus.ACTIVE:
        return record.status
    if now < record.starts_at:
        return UPCOMING
    return OfferStatus.ENDED if now >= record.ends_at else OfferStatus.ACTIVE


def _page(
    discount_form: TimedDiscountForm | None = None,
    reduction_form: ReductionForm | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    discounts = queries.timed_discounts()
    reductions = queries.full_reductions()
    return (
        render_template(
            "panel/marketing_promotions.html",
            discounts=discounts,
            reductions=reductions,
            limit=LIST_LIMIT,
            now=utcnow(),
            phase=phase,
            discount_form=discount_form or TimedDiscountForm(formdata=None),
            reduction_form=reduction_form or ReductionForm(formdata=None),
            end_form=StatusForm(formdata=None),
            offers=marketing_text,
        ),
        status,
    )


@panel_bp.get("/marketing/promotions")
@area("marketing")
def marketing_promotions():  # type: ignore[no-untyped-def]
    return _page()


@panel_bp.post("/marketing/promotions/discounts")
@area("marketing")
def marketing_discount_create():  # type: ignore[no-untyped-def]
    form = TimedDiscountForm()
    if not form.validate_on_submit():
        return _page(discount_form=form, status=400)
    try:
        with audited("timed_discount.create", "timed_discount", "new") as note:
            record = promotion_service.create_timed_discount(
                (form.name.data or "").strip(),
                form.sku_id.data or 0,
                form.starts_at.data,
                form.ends_at.data,
                price_fen=form.price_fen.data,
                pay_rate_bp=form.pay_rate_bp.data,
                no_commission=bool(form.no_commission.data),
            )
            note.target_id = record.id
            note.after = {
                "name": record.name,
                "sku_id": record.sku_id,
                "price_fen": record.price_fen,
                "pay_rate_bp": record.pay_rate_bp,
                "starts_at": record.starts_at,
                "ends_at": record.ends_at,
                "no_commission": record.no_commission,
            }
    except ApiError as exc:
        attach(form, exc.fields, exc.message)
        return _page(discount_form=form, status=exc.status)
    flash(_("Limited-time discount “%(name)s” created.", name=record.name), "success")
    return redirect(url_for("panel.marketing_promotions"), 303)


@panel_bp.post("/marketing/promotions/reductions")
@area("marketing")
def marketing_reduction_create():  # type: ignore[no-untyped-def]
    form = ReductionForm()
    valid = form.validate_on_submit()
    tiers = form.read_tiers()
    if not (form.check_scope() and valid and tiers is not None):
        return _page(reduction_form=form, status=400)
    try:
        with audited("full_reduction.create", "full_reduction", "new") as note:
            record = promotion_service.create_full_reduction(form.spec(tiers))
            note.target_id = record.id
            note.after = {
                "name": record.name,
                "by_count": record.by_count,
                "tiers": record.tiers,
                "scope": record.scope,
                "starts_at": record.starts_at,
                "ends_at": record.ends_at,
                "no_commission": record.no_commission,
            }
    except ApiError as exc:
        problems = dict(exc.fields)
        form.tier_errors = [problems.pop("tiers")] if "tiers" in problems else []
        if problems or not form.tier_errors:
            attach(form, problems, exc.message)
        return _page(reduction_form=form, status=exc.status)
    flash(_("Full reduction “%(name)s” created.", name=record.name), "success")
    return redirect(url_for("panel.marketing_promotions"), 303)


def _end(model: type[TimedDiscountRecord] | type[FullReductionRecord], record_id: int):  # type: ignore[no-untyped-def]
    discount = model is TimedDiscountRecord
    record = (queries.timed_discount if discount else queries.full_reduction)(record_id)
    action = "timed_discount.end" if discount else "full_reduction.end"
    target = "timed_discount" if discount else "full_reduction"
    if record is None:
        abort(404)
    form = StatusForm()
    if not form.validate_on_submit() or form.action.data != "end":
        abort(400)
    back = redirect(url_for("panel.marketing_promotions"), 303)
    if record.status == OfferStatus.ENDED:
        flash(_("“%(name)s” has already ended.", name=record.name), "error")
        return back
    with audited(action, target, record_id, {"status": record.status}) as note:
        promotion_service.end(model, record_id)
        note.after = {"status": OfferStatus.ENDED}
    flash(_("“%(name)s” ended.", name=record.name), "success")
    return back


@panel_bp.post("/marketing/promotions/discounts/<int:record_id>/end")
@area("marketing")
def marketing_discount_end(record_id: int):  # type: ignore[no-untyped-def]
    return _end(TimedDiscountRecord, record_id)


@panel_bp.post("/marketing/promotions/reductions/<int:record_id>/end")
@area("marketing")
def marketing_reduction_end(record_id: int):  # type: ignore[no-untyped-def]
    return _end(FullReductionRecord, record_id)
