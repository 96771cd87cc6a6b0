"""Distributors: the list (pending applications first-class), one distributor's page, and
the staff actions on it — review, level, disable/enable, change of referrer — each audited.

Reads come from `wxdist.panel.queries.distributors`, changes from the distribution services.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from wxdist.accounts.phone import mask_phone
from wxdist.core.errors import ApiError
from wxdist.distribution import distributors as distributor_service
from wxdist.distribution import referrals
from wxdist.models import Distributor, DistributorStatus
from wxdist.panel.access import area
from wxdist.panel.blueprint import ID_MAX, panel_bp
from wxdist.panel.queries import distributors as queries
from wxdist.panel.ui import audited, choice_arg, page_arg

STATUSES = (
    DistributorStatus.PENDING,
    DistributorStatus.APPROVED,
    DistributorStatus.REJECTED,
    DistributorStatus.DISABLED,
)
DETAIL_ROWS = 20


# ---- forms -----------------------------------------------------------------------------


class ReviewForm(FlaskForm):
    decision = StringField(
        _l("Decision"),
        validators=[
            DataRequired(message=_l("Choose approve or reject (decision).")),
            AnyOf(["approve", "reject"], message=_l("Choose approve or reject (decision).")),
        ],
    )
    note = StringField(
        _l("Reason / note"),
        validators=[Length(max=255, message=_l("Reason / note: at most 255 characters."))],
    )

    def validate_note(self, field: StringField) -> None:
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_("A rejection needs a reason for the applicant."))


class LevelForm(FlaskForm):
    level_id = SelectField(_l("Level"), choices=[])


class StatusForm(FlaskForm):
    action = StringField(
        _l("Action"),
        validators=[
            DataRequired(message=_l("Choose disable or enable (action).")),
            AnyOf(["disable", "enable"], message=_l("Choose disable or enable (action).")),
        ],
    )
    note = StringField(
        _l("Note"), validators=[Length(max=255, message=_l("Note: at most 255 characters."))]
    )


class ReferrerForm(FlaskForm):
    referrer_id = IntegerField(
        _l("New referrer (user id)"),
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=ID_MAX,
                message=_l("New referrer: enter a user id between %(min)s and %(max)s."),
            ),
        ],
        description=_l("Leave empty to remove the referrer."),
    )


class PhoneRevealForm(FlaskForm):
    """Show the customer's whole phone number (audited; the page shows it masked)."""


def _level_form(row: Distributor, formdata: Any = None) -> LevelForm:
    form = LevelForm(formdata=formdata) if formdata is not None else LevelForm()
    levels = distributor_service.list_levels()
    form.level_id.choices = [("", _("No level"))] + [
        (str(level.id), _("%(name)s (rank %(rank)s)", name=level.name, rank=level.rank))
        for level in levels
    ]
    if formdata is None:
        form.level_id.data = str(row.level_id) if row.level_id else ""
    return form


def _attach(form: FlaskForm, exc: ApiError) -> bool:
    """Show a service's field errors on the form; False if none of them is its field."""
    shown = False
    for name, problem in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, problem]
            shown = True
    return shown


# ---- views -----------------------------------------------------------------------------


@panel_bp.get("/distributors")
@area("distributors")
def distributors():  # type: ignore[no-untyped-def]
    status = choice_arg("status", STATUSES)
    q = request.args.get("q", "").strip()[:32]
    page = queries.distributor_page(page_arg(), status, q)
    ids = [row.user_id for row in page.items]
    pending = queries.pending_count()
    levels = {level.id: level.name for level in distributor_service.list_levels()}
    return render_template(
        "panel/distributors.html",
        page=page,
        status=status,
        q=q,
        statuses=STATUSES,
        pending=pending,
        levels=levels,
        facts=queries.page_facts(ids),
        review_form=ReviewForm(),
    )


def _load(user_id: int) -> Distributor:
    row = queries.distributor(user_id)
    if row is None:
        abort(404)
    return row


def _render_detail(  # type: ignore[no-untyped-def]
    row: Distributor, status: int = 200, full_phone: bool = False, **forms: FlaskForm
):
    facts = queries.distributor_facts(row, DETAIL_ROWS)
    phone = facts.user.phone if facts.user is not None else None
    referral, team = facts.referral, facts.team
    chain = [referral.parent_id, referral.grandparent_id] if referral else [None, None]
    names = queries.names_of({*(c for c in chain if c), *(m.user_id for m in team)})
    body = render_template(
        "panel/distributor_detail.html",
        row=row,
        user=facts.user,
        phone=phone if full_phone else mask_phone(phone),
        full_phone=full_phone,
        phone_form=PhoneRevealForm(),
        account=facts.account,
        level=facts.level,
        referral=referral,
        chain=chain,
        names=names,
        team=team,
        team_size=facts.team_size,
        commission=facts.commission,
        withdrawals=facts.withdrawals,
        review_form=forms.get("review_form") or ReviewForm(),
        level_form=forms.get("level_form") or _level_form(row),
        status_form=forms.get("status_form") or StatusForm(),
        referrer_form=forms.get("referrer_form") or ReferrerForm(),
    )
    return body, status


@panel_bp.get("/distributors/<int:user_id>")
@area("distributors")
def distributor_detail(user_id: int):  # type: ignore[no-untyped-def]
    return _render_detail(_load(user_id))


def _done(user_id: int, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for("panel.distributor_detail", user_id=user_id), 303)


@panel_bp.post("/distributors/<int:user_id>/review")
@area("distributors")
def distributor_review(user_id: int):  # type: ignore[no-untyped-def]
    row = _load(user_id)
    form = ReviewForm()
    if not form.validate():
        return _render_detail(row, 400, review_form=form)
    approve = form.decision.data == "approve"
    note = (form.note.data or "").strip()
    try:
        with audited(
            "distributor.review", "distributor", user_id, before={"status": row.status}
        ) as audit:
            row = distributor_service.review(user_id, approve, note)
            audit.after = {"status": row.status, "review_note": row.review_note}
    except ApiError as exc:
        if exc.status != 400 or not _attach(form, exc):
            raise
        return _render_detail(_load(user_id), 400, review_form=form)
    return _done(user_id, _("Application approved.") if approve else _("Application rejected."))


@panel_bp.post("/distributors/<int:user_id>/level")
@area("distributors")
def distributor_level(user_id: int):  # type: ignore[no-untyped-def]
    row = _load(user_id)
    form = _level_form(row, request.form)
    if not form.validate():
        return _render_detail(row, 400, level_form=form)
    level_id = int(form.level_id.data) if form.level_id.data else None
    levels = {level.id: level.name for level in distributor_service.list_levels()}
    before = {"level_id": row.level_id, "level": levels.get(row.level_id or 0, "")}
    with audited("distributor.level", "distributor", user_id, before=before) as audit:
        row = distributor_service.grant_level(user_id, level_id)
        audit.after = {"level_id": row.level_id, "level": levels.get(row.level_id or 0, "")}
    return _done(user_id, _("Level set."))


@panel_bp.post("/distributors/<int:user_id>/status")
@area("distributors")
def distributor_status(user_id: int):  # type: ignore[no-untyped-def]
    row = _load(user_id)
    form = StatusForm()
    if not form.validate():
        return _render_detail(row, 400, status_form=form)
    disable = form.action.data == "disable"
    note = (form.note.data or "").strip()
    action = "distributor.disable" if disable else "distributor.enable"
    with audited(action, "distributor", user_id, before={"status": row.status}) as audit:
        row = distributor_service.set_disabled(user_id, disable, note)
        audit.after = {"status": row.status, "note": note}
    return _done(user_id, _("Distributor disabled.") if disable else _("Distributor enabled."))


@panel_bp.post("/distributors/<int:user_id>/referrer")
@area("distributors")
def distributor_referrer(user_id: int):  # type: ignore[no-untyped-def]
    row = _load(user_id)
    form = ReferrerForm()
    if not form.validate():
        return _render_detail(row, 400, referrer_form=form)
    new_parent = form.referrer_id.data
    current = queries.referral(user_id)
    before = {
        "parent_id": current.parent_id if current else None,
        "grandparent_id": current.grandparent_id if current else None,
        "path": current.path if current else "/",
    }
    try:
        with audited("distributor.referrer", "distributor", user_id, before=before) as audit:
            moved = referrals.set_referrer_by_staff(user_id, new_parent)
            audit.after = {
                "parent_id": moved.parent_id,
                "grandparent_id": moved.grandparent_id,
                "path": moved.path,
            }
    except ApiError as exc:
        if exc.status != 400 or not _attach(form, exc):
            raise
        return _render_detail(_load(user_id), 400, referrer_form=form)
    return _done(user_id, _("Referrer changed.") if new_parent else _("Referrer removed."))


@panel_bp.post("/distributors/<int:user_id>/phone")
@area("distributors")
def distributor_phone(user_id: int):  # type: ignore[no-untyped-def]
    """The page with the customer's whole phone number, for staff who must call them; each
    reveal is audited (who, whose, when: the number itself stays out of the log)."""
    row = _load(user_id)
    if not PhoneRevealForm().validate():
        abort(400)
    with audited("account.phone_reveal", "user", user_id):
        pass
    return _render_detail(row, full_phone=True)
