"""Customers (客户): the list with its filters, one customer's page (orders, spend,
coupons, tags, notes, source), block/unblock with a reason (audited by
`accounts.blocking`), tag management, and coupons issued in bulk to the list's filter.

Reads come from `wxdist.customers.listing` and `wxdist.panel.queries.customers`; changes
from the customers and accounts services. Phones are shown masked.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from wxdist.accounts import blocking
from wxdist.accounts.phone import mask_phone
from wxdist.core.clock import utc_start
from wxdist.core.errors import ApiError
from wxdist.customers import bulk, listing, tags
from wxdist.customers.listing import CustomerFilter
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.queries import customers as queries
from wxdist.panel.ui import audited, choice_arg, client_ip, day_arg, int_arg

MAX_FEN = 10**13
FILTER_KEYS = ("tag", "source", "spend_min", "spend_max", "last_from", "last_to", "sort")


class BlockForm(FlaskForm):
    reason = StringField(
        _l("Reason"),
        validators=[
            DataRequired(message=_l("Reason: say why the customer is blocked.")),
            Length(max=blocking.MAX_REASON),
        ],
    )


class ActionForm(FlaskForm):
    """A form of nothing but its CSRF token (unblock, delete)."""


class TagsForm(FlaskForm):
    tag_ids = SelectMultipleField(_l("Tags"), choices=[], coerce=int, validate_choice=True)


def _tags_form() -> TagsForm:
    form = TagsForm()
    form.tag_ids.choices = [(t.id, t.name) for t, _n in tags.all_tags()]
    return form


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(message=_l("Note: write something.")),
            Length(max=tags.MAX_NOTE),
        ],
    )


class TagForm(FlaskForm):
    name = StringField(
        _l("Tag name"),
        validators=[DataRequired(message=_l("Tag name: required.")), Length(max=tags.MAX_TAG)],
    )


class BulkForm(FlaskForm):
    template_id = SelectField(_l("Coupon"), choices=[], coerce=int, validate_choice=True)
    request_key = HiddenField()
    filter_json = HiddenField()


def _yuan_arg(name: str) -> int | None:
    """A yuan amount query argument in fen (None when absent or malformed)."""
    raw = request.args.get(name, "").strip()
    try:
        yuan = Decimal(raw)
    except InvalidOperation:
        return None
    if not yuan.is_finite() or yuan.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    fen = int(yuan * 100)
    return fen if 0 <= fen <= MAX_FEN else None


def _filter_from_args() -> CustomerFilter:
    since, until = day_arg("last_from"), day_arg("last_to")
    return CustomerFilter(
        tag_id=int_arg("tag"),
        source_id=int_arg("source"),
        spend_min_fen=_yuan_arg("spend_min"),
        spend_max_fen=_yuan_arg("spend_max"),
        last_order_from=utc_start(since) if since else None,
        last_order_to=utc_start(until + timedelta(days=1)) - timedelta(microseconds=1)
        if until
        else None,
        sort=choice_arg("sort", listing.SORTS) or "last_order",
    )


def _bulk_form(flt: CustomerFilter, formdata: Any = None) -> BulkForm:
    form = BulkForm(formdata=formdata) if formdata is not None else BulkForm()
    form.template_id.choices = [
        (t.id, _("%(name)s (%(left)s left)", name=t.name, left=t.remaining))
        for t in queries.issuable_templates()
    ]
    if formdata is None:
        form.request_key.data = secrets.token_hex(16)
        form.filter_json.data = flt.to_json()
    return form


@panel_bp.get("/customers")
@area("customers")
def customers():  # type: ignore[no-untyped-def]
    flt = _filter_from_args()
    cursor = request.args.get("after", "").strip()[:80] or None
    try:
        found = listing.page(flt, cursor)
    except ValueError:  # a cursor edited by hand: start over
        found = listing.page(flt)
    args = {k: v[:40] for k, v in request.args.items() if k in FILTER_KEYS and v}
    return render_template(
        "panel/customers.html",
        page=found,
        flt=flt,
        args=args,
        tags=tags.all_tags(),
        sorts=listing.SORTS,
        mask_phone=mask_phone,
        bulk_form=_bulk_form(flt),
    )


def _render_detail(user_id: int, status: int = 200, **forms: FlaskForm):  # type: ignore[no-untyped-def]
    found = listing.detail(user_id)
    if found is None:
        abort(404)
    tags_form = forms.get("tags_form") or _tags_form()
    if "tags_form" not in forms:
        tags_form.tag_ids.data = found.tag_ids
    body = render_template(
        "panel/customer_detail.html",
        c=found,
        phone=mask_phone(found.user.phone),
        block_form=forms.get("block_form") or BlockForm(),
        action_form=ActionForm(),
        tags_form=tags_form,
        note_form=forms.get("note_form") or NoteForm(),
    )
    return body, status


@panel_bp.get("/customers/<int:user_id>")
@area("customers")
def customer_detail(user_id: int):  # type: ignore[no-untyped-def]
    return _render_detail(user_id)


def _done(user_id: int, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for("panel.customer_detail", user_id=user_id), 303)


def _staff() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


@panel_bp.post("/customers/<int:user_id>/block")
@area("customers")
def customer_block(user_id: int):  # type: ignore[no-untyped-def]
    form = BlockForm()
    if not form.validate():
        return _render_detail(user_id, 400, block_form=form)
    blocking.block(user_id, form.reason.data or "", _staff(), client_ip())
    return _done(user_id, _("Customer blocked: they cannot order or withdraw."))


@panel_bp.post("/customers/<int:user_id>/unblock")
@area("customers")
def customer_unblock(user_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate():
        abort(400)
    blocking.unblock(user_id, _staff(), client_ip())
    return _done(user_id, _("Customer unblocked."))


@panel_bp.post("/customers/<int:user_id>/tags")
@area("customers")
def customer_tags(user_id: int):  # type: ignore[no-untyped-def]
    form = _tags_form()
    if not form.validate():
        return _render_detail(user_id, 400, tags_form=form)
    found = listing.detail(user_id)
    if found is None:
        abort(404)
    with audited("customer.tags", "user", user_id, before={"tag_ids": found.tag_ids}) as note:
        note.after = {"tag_ids": tags.set_tags(user_id, list(form.tag_ids.data or []))}
    return _done(user_id, _("Tags saved."))


@panel_bp.post("/customers/<int:user_id>/notes")
@area("customers")
def customer_note(user_id: int):  # type: ignore[no-untyped-def]
    form = NoteForm()
    if not form.validate():
        return _render_detail(user_id, 400, note_form=form)
    tags.add_note(user_id, form.body.data or "", _staff().username)
    return _done(user_id, _("Note added."))


@panel_bp.get("/customers/tags")
@area("customers")
def customer_tag_list():  # type: ignore[no-untyped-def]
    return render_template(
        "panel/customer_tags.html", tags=tags.all_tags(), form=TagForm(), action_form=ActionForm()
    )


@panel_bp.post("/customers/tags")
@area("customers")
def customer_tag_create():  # type: ignore[no-untyped-def]
    form = TagForm()
    if form.validate():
        try:
            with audited("customer_tag.create", "customer_tag", "") as note:
                tag = tags.create_tag(form.name.data or "")
                note.target_id, note.after = tag.id, {"name": tag.name}
        except ApiError as exc:
            form.name.errors = [*form.name.errors, *exc.fields.values()]
        else:
            flash(_("Tag created."), "success")
            return redirect(url_for("panel.customer_tag_list"), 303)
    body = render_template(
        "panel/customer_tags.html", tags=tags.all_tags(), form=form, action_form=ActionForm()
    )
    return body, 400


@panel_bp.post("/customers/tags/<int:tag_id>/delete")
@area("customers")
def customer_tag_delete(tag_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate():
        abort(400)
    with audited("customer_tag.delete", "customer_tag", tag_id):
        tags.delete_tag(tag_id)
    flash(_("Tag deleted."), "success")
    return redirect(url_for("panel.customer_tag_list"), 303)


@panel_bp.get("/customers/bulk")
@area("customers")
def customer_bulk_list():  # type: ignore[no-untyped-def]
    return render_template("panel/customer_bulk.html", issues=queries.recent_bulk_issues())


@panel_bp.post("/customers/bulk")
@area("customers")
def customer_bulk_issue():  # type: ignore[no-untyped-def]
    try:
        flt = CustomerFilter.from_json(request.form.get("filter_json", ""))
    except (ValueError, TypeError):
        abort(400)
    form = _bulk_form(flt, request.form)
    if not form.validate():
        flash(_("Choose a coupon to issue."), "error")
        return redirect(url_for("panel.customers"), 303)
    with audited("customer.bulk_coupon", "coupon_template", form.template_id.data) as note:
        issue = bulk.start(
            flt, form.template_id.data, _staff().username, form.request_key.data or ""
        )
        note.after = {"bulk_issue_id": issue.id, "filter": flt.to_json()}
    flash(_("Coupon issue started; the counts below update as it runs."), "success")
    return redirect(url_for("panel.customer_bulk_list"), 303)
