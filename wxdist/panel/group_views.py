"""Marketing, group buys (拼团): the activities with their stock and groups, a form to
create one, and each activity's page: its settings to edit, its SKUs, its groups with
their state, members, orders and, for a failed group, each paid member's refund.

The service (`marketing.group_buys.admin`) validates; its field errors stand beside the
form's fields. Every save is audited (`group_buy.create|update`).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from wxdist.core.errors import ApiError, NotFound
from wxdist.marketing.group_buys import admin, admin_reads
from wxdist.models.types import utcnow
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.group_forms import GroupForm, spec_dict
from wxdist.panel.ui import audited


def _list_page(form: GroupForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "panel/group_buys.html",
            rows=admin_reads.activity_rows(),
            now=utcnow(),
            form=form or GroupForm(formdata=None),
        ),
        status,
    )


@panel_bp.get("/marketing/group-buys")
@area("marketing")
def group_buys():  # type: ignore[no-untyped-def]
    return _list_page()


@panel_bp.post("/marketing/group-buys")
@area("marketing")
def group_buy_create():  # type: ignore[no-untyped-def]
    form = GroupForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    spec = form.spec()
    try:
        with audited("group_buy.create", "group_buy", "new") as note:
            activity = admin.save_activity(spec)
            note.target_id = activity.id
            note.after = spec_dict(spec)
    except ApiError as exc:
        form.attach(exc.fields, exc.message)
        return _list_page(form, exc.status)
    flash(_("Group buy “%(name)s” saved.", name=activity.name), "success")
    return redirect(url_for("panel.group_buy", group_activity_id=activity.id), 303)


def _detail_page(activity_id: int, form: GroupForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    try:
        activity, skus = admin_reads.activity_parts(activity_id)
    except NotFound:
        abort(404)
    if form is None:
        form = GroupForm(formdata=None)
        form.fill(activity, [row[0] for row in skus])
    return (
        render_template(
            "panel/group_buy.html",
            activity=activity,
            skus=skus,
            groups=admin_reads.groups(activity_id),
            form=form,
            now=utcnow(),
        ),
        status,
    )


@panel_bp.get("/marketing/group-buys/<int:group_activity_id>")
@area("marketing")
def group_buy(group_activity_id: int):  # type: ignore[no-untyped-def]
    return _detail_page(group_activity_id)


@panel_bp.post("/marketing/group-buys/<int:group_activity_id>")
@area("marketing")
def group_buy_update(group_activity_id: int):  # type: ignore[no-untyped-def]
    form = GroupForm()
    if not form.validate_on_submit():
        return _detail_page(group_activity_id, form, 400)
    spec = form.spec()
    try:
        with audited("group_buy.update", "group_buy", group_activity_id) as note:
            activity = admin.save_activity(spec, group_activity_id)
            note.after = spec_dict(spec)
    except NotFound:
        abort(404)
    except ApiError as exc:
        form.attach(exc.fields, exc.message)
        return _detail_page(group_activity_id, form, exc.status)
    flash(_("Group buy “%(name)s” saved.", name=activity.name), "success")
    return redirect(url_for("panel.group_buy", group_activity_id=group_activity_id), 303)
