"""Marketing, flash sales (秒杀): the activities with their slots and stock, a form to
create one, and each activity's page: its settings to edit, its sales per SKU (sold, left,
orders) and its orders.

The service (`marketing.flash_sales.admin`) validates; its field errors stand beside the
form's fields (an activity stock above the SKU's beside the SKUs). Every save is audited
(`flash_sale.create|update`).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from wxdist.core.errors import ApiError, NotFound
from wxdist.marketing.flash_sales import admin
from wxdist.models.types import utcnow
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.flash_forms import FlashForm, spec_dict
from wxdist.panel.ui import audited


def _list_page(form: FlashForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "panel/flash_sales.html",
            rows=admin.activity_rows(),
            now=utcnow(),
            form=form or FlashForm(formdata=None),
        ),
        status,
    )


@panel_bp.get("/marketing/flash-sales")
@area("marketing")
def flash_sales():  # type: ignore[no-untyped-def]
    return _list_page()


@panel_bp.post("/marketing/flash-sales")
@area("marketing")
def flash_sale_create():  # type: ignore[no-untyped-def]
    form = FlashForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    spec = form.spec()
    try:
        with audited("flash_sale.create", "flash_sale", "new") as note:
            activity = admin.save_activity(spec)
            note.target_id = activity.id
            note.after = spec_dict(spec)
    except ApiError as exc:
        form.attach(exc.fields, exc.message)
        return _list_page(form, exc.status)
    flash(_("Flash sale “%(name)s” saved.", name=activity.name), "success")
    return redirect(url_for("panel.flash_sale", activity_id=activity.id), 303)


def _detail_page(activity_id: int, form: FlashForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    try:
        activity, slots, skus = admin.activity_parts(activity_id)
    except NotFound:
        abort(404)
    if form is None:
        form = FlashForm(formdata=None)
        form.fill(activity, slots, skus)
    return (
        render_template(
            "panel/flash_sale.html",
            activity=activity,
            slots=slots,
            sales=admin.sales(activity_id),
            orders=admin.orders(activity_id),
            form=form,
            now=utcnow(),
        ),
        status,
    )


@panel_bp.get("/marketing/flash-sales/<int:activity_id>")
@area("marketing")
def flash_sale(activity_id: int):  # type: ignore[no-untyped-def]
    return _detail_page(activity_id)


@panel_bp.post("/marketing/flash-sales/<int:activity_id>")
@area("marketing")
def flash_sale_update(activity_id: int):  # type: ignore[no-untyped-def]
    form = FlashForm()
    if not form.validate_on_submit():
        return _detail_page(activity_id, form, 400)
    spec = form.spec()
    try:
        with audited("flash_sale.update", "flash_sale", activity_id) as note:
            activity = admin.save_activity(spec, activity_id)
            note.after = spec_dict(spec)
    except NotFound:
        abort(404)
    except ApiError as exc:
        form.attach(exc.fields, exc.message)
        return _detail_page(activity_id, form, exc.status)
    flash(_("Flash sale “%(name)s” saved.", name=activity.name), "success")
    return redirect(url_for("panel.flash_sale", activity_id=activity_id), 303)
