"""Marketing, coupons: the list of coupon templates with their counts and a form to create
one; one template's page with pause / resume / end and "issue to users".

Forms are in `marketing_forms`; the services (`marketing.templates`, `marketing.coupons`)
validate, and their field errors are shown beside the form's fields. Every change is
audited (`coupon_template.create|pause|resume|end|issue`).
"""

from __future__ import annotations

from collections import Counter

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from wxdist.core.errors import ApiError
from wxdist.marketing import coupons as coupon_service
from wxdist.marketing import templates as template_service
from wxdist.models import CouponStatus, CouponTemplate, OfferStatus
from wxdist.panel import marketing_text
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.labels import label
from wxdist.panel.marketing_forms import IssueForm, StatusForm, TemplateForm
from wxdist.panel.queries import marketing as queries
from wxdist.panel.ui import audited, page_arg

# action → (the status it sets, the statuses it applies to)
STATUS_ACTIONS = {
    "pause": (OfferStatus.PAUSED, (OfferStatus.ACTIVE,)),
    "resume": (OfferStatus.ACTIVE, (OfferStatus.PAUSED,)),
    "end": (OfferStatus.ENDED, (OfferStatus.ACTIVE, OfferStatus.PAUSED)),
}
SHOWN_IDS = 20  # refused user ids named in a flash, per reason


def attach(form: FlaskForm, fields: dict[str, str], message: str) -> None:
    """Put a service's field errors beside the form's fields; one that matches no field
    (or a refusal without fields) goes beside the first field."""
    loose = []
    for name, problem in fields.items():
        field = form._fields.get(name)
        if field is None:
            loose.append(problem)
        else:
            field.errors = [*field.errors, problem]
    if loose or not fields:
        first = next(f for f in form if f.name != "csrf_token")
        first.errors = [*first.errors, *(loose or [message])]


def _list_page(form: TemplateForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "panel/marketing_coupons.html",
            page=queries.template_page(page_arg()),
            form=form or TemplateForm(formdata=None).setup(),
            offers=marketing_text,
        ),
        status,
    )


@panel_bp.get("/marketing/coupons")
@area("marketing")
def marketing():  # type: ignore[no-untyped-def]
    return _list_page()


@panel_bp.post("/marketing/coupons")
@area("marketing")
def marketing_coupon_create():  # type: ignore[no-untyped-def]
    form = TemplateForm().setup()
    valid = form.validate_on_submit()
    if not (form.check_scope() and valid):
        return _list_page(form, 400)
    spec = form.spec()
    try:
        with audited("coupon_template.create", "coupon_template", "new") as note:
            created = template_service.create_template(spec)
            note.target_id = created.id
            note.after = {
                "name": created.name,
                "off_fen": created.off_fen,
                "pay_rate_bp": created.pay_rate_bp,
                "total": created.total,
                "audience": created.audience,
            }
    except ApiError as exc:
        attach(form, exc.fields, exc.message)
        return _list_page(form, exc.status)
    flash(_("Coupon “%(name)s” created.", name=created.name), "success")
    return redirect(url_for("panel.marketing_coupon", template_id=created.id), 303)


def _template(template_id: int) -> CouponTemplate:
    found = queries.template(template_id)
    if found is None:
        abort(404)
    return found


def _detail(template: CouponTemplate, issue_form: IssueForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    counts = queries.coupon_counts(template.id)
    return (
        render_template(
            "panel/marketing_coupon.html",
            t=template,
            counts=[(code, counts.get(code, 0)) for code in CouponStatus.ALL],
            actions=[
                action
                for action, (_to, froms) in STATUS_ACTIONS.items()
                if template.status in froms
            ],
            status_form=StatusForm(formdata=None),
            issue_form=issue_form or IssueForm(formdata=None),
            offers=marketing_text,
        ),
        status,
    )


@panel_bp.get("/marketing/coupons/<int:template_id>")
@area("marketing")
def marketing_coupon(template_id: int):  # type: ignore[no-untyped-def]
    return _detail(_template(template_id))


@panel_bp.post("/marketing/coupons/<int:template_id>/status")
@area("marketing")
def marketing_coupon_status(template_id: int):  # type: ignore[no-untyped-def]
    template = _template(template_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    action = form.action.data or ""
    to, froms = STATUS_ACTIONS[action]
    back = redirect(url_for("panel.marketing_coupon", template_id=template_id), 303)
    if template.status not in froms:
        flash(
            _("Nothing changed: the coupon is %(status)s.", status=label(template.status)), "error"
        )
        return back
    if action == "pause":  # the audit codes written out, so the label check sees them
        code = "coupon_template.pause"
    elif action == "resume":
        code = "coupon_template.resume"
    else:
        code = "coupon_template.end"
    try:
        with audited(code, "coupon_template", template_id, {"status": template.status}) as note:
            changed = template_service.set_status(template_id, to)
            note.after = {"status": changed.status}
    except ApiError as exc:
        flash(exc.message, "error")
        return back
    flash(_("The coupon is now %(status)s.", status=label(changed.status)), "success")
    return back


def _refusal_flashes(results: dict[int, str]) -> None:
    by_reason: dict[str, list[int]] = {}
    for user_id, outcome in results.items():
        if outcome != "issued":
            by_reason.setdefault(outcome, []).append(user_id)
    for reason, user_ids in sorted(by_reason.items()):
        shown = ", ".join(str(i) for i in user_ids[:SHOWN_IDS])
        if len(user_ids) > SHOWN_IDS:
            shown += " …"
        flash(
            _(
                "Not issued to %(count)s (%(reason)s): %(ids)s",
                count=len(user_ids),
                reason=label(reason),
                ids=shown,
            ),
            "error",
        )


@panel_bp.post("/marketing/coupons/<int:template_id>/issue")
@area("marketing")
def marketing_coupon_issue(template_id: int):  # type: ignore[no-untyped-def]
    template = _template(template_id)
    form = IssueForm()
    if not form.validate_on_submit():
        return _detail(template, form, 400)
    user_ids: list[int] = form.user_ids.data
    before = template.issued_count
    results = coupon_service.issue_to_users(template_id, user_ids)
    outcomes = Counter(results.values())
    issued = outcomes.pop("issued", 0)
    # A user sent again gets back the coupon the earlier issue gave them (the claim key is
    # the same): "issued", but not a new coupon. The template's count tells how many are new
    # (near enough: shoppers claiming meanwhile count too).
    new = min(issued, max(queries.issued_count(template_id) - before, 0))
    # Each coupon was committed on its own: the entry records what the whole request did.
    with audited("coupon_template.issue", "coupon_template", template_id) as note:
        note.after = {
            "asked": len(results),
            "issued": issued,
            "new": new,
            "refused": sum(outcomes.values()),
            "reasons": dict(outcomes),
        }
    flash(
        _("Issued to %(issued)s of %(asked)s users.", issued=issued, asked=len(results)),
        "success",
    )
    if new < issued:
        flash(
            _(
                "%(count)s of them already had this coupon from an earlier issue.",
                count=issued - new,
            ),
            "success",
        )
    _refusal_flashes(results)
    return redirect(url_for("panel.marketing_coupon", template_id=template_id), 303)
