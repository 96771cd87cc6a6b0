"""Distributors: the list (pending applications first-class), one distributor's page, and
the staff actions on it — review, level, disable/enable, change of referrer — each audited.

Lists read only the rows on the page and answer their extra columns (balances, referrer,
team size) with one indexed query each over those ids.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.distribution import distributors as distributor_service
from wxdist.distribution import referrals
from wxdist.models import (
    Commission,
    Distributor,
    DistributorAccount,
    DistributorLevel,
    DistributorStatus,
    Referral,
    User,
    Withdrawal,
)
from wxdist.panel.access import area
from wxdist.panel.blueprint import ID_MAX, panel_bp
from wxdist.panel.ui import audited, choice_arg, paginate

STATUSES = (
    DistributorStatus.PENDING,
    DistributorStatus.APPROVED,
    DistributorStatus.REJECTED,
    DistributorStatus.DISABLED,
)
DETAIL_ROWS = 20


# ---- forms -----------------------------------------------------------------------------


class ReviewForm(FlaskForm):
    decision = StringField("Decision", validators=[DataRequired(), AnyOf(["approve", "reject"])])
    note = StringField("Reason / note", validators=[Length(max=255)])

    def validate_note(self, field: StringField) -> None:
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError("A rejection needs a reason for the applicant.")


class LevelForm(FlaskForm):
    level_id = SelectField("Level", choices=[])


class StatusForm(FlaskForm):
    action = StringField("Action", validators=[DataRequired(), AnyOf(["disable", "enable"])])
    note = StringField("Note", validators=[Length(max=255)])


class ReferrerForm(FlaskForm):
    referrer_id = IntegerField(
        "New referrer (user id)",
        validators=[Optional(), NumberRange(min=1, max=ID_MAX)],
        description="Leave empty to remove the referrer.",
    )


def _level_form(row: Distributor, formdata: Any = None) -> LevelForm:
    form = LevelForm(formdata=formdata) if formdata is not None else LevelForm()
    levels = distributor_service.list_levels()
    form.level_id.choices = [("", "No level")] + [
        (str(level.id), f"{level.name} (rank {level.rank})") for level in levels
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


# ---- lookups over the rows of one page -------------------------------------------------


def names_of(user_ids: set[int]) -> dict[int, str]:
    """A display name per user: the distributor's real name, else the WeChat nickname."""
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    names = {
        user_id: nickname
        for user_id, nickname in db.session.execute(
            select(User.id, User.nickname).where(User.id.in_(ids))
        )
    }
    for user_id, real_name in db.session.execute(
        select(Distributor.user_id, Distributor.real_name).where(Distributor.user_id.in_(ids))
    ):
        if real_name:
            names[user_id] = real_name
    return names


def _page_facts(ids: list[int]) -> dict[str, dict[int, Any]]:
    if not ids:
        return {"accounts": {}, "parents": {}, "team": {}, "names": {}}
    accounts = {
        account.user_id: account
        for account in db.session.scalars(
            select(DistributorAccount).where(DistributorAccount.user_id.in_(ids))
        )
    }
    parents = dict(
        db.session.execute(
            select(Referral.user_id, Referral.parent_id).where(Referral.user_id.in_(ids))
        ).all()
    )
    # Direct team sizes of this page only: one grouped count over ix_referrals_parent_team.
    team = dict(
        db.session.execute(
            select(Referral.parent_id, func.count())
            .where(Referral.parent_id.in_(ids))
            .group_by(Referral.parent_id)
        ).all()
    )
    return {
        "accounts": accounts,
        "parents": parents,
        "team": team,
        "names": names_of({p for p in parents.values() if p}),
    }


# ---- views -----------------------------------------------------------------------------


@panel_bp.get("/distributors")
@area("distributors")
def distributors():  # type: ignore[no-untyped-def]
    status = choice_arg("status", STATUSES)
    q = request.args.get("q", "").strip()[:32]
    statement = select(Distributor).order_by(
        Distributor.applied_at.desc(), Distributor.user_id.desc()
    )
    if status:
        statement = statement.where(Distributor.status == status)  # ix_distributors_status_applied
    if q:
        if q.isascii() and q.isdigit() and len(q) <= 10:
            statement = statement.where(Distributor.user_id == int(q))
        elif q.isascii() and q.isdigit():
            statement = statement.where(Distributor.phone.startswith(q, autoescape=True))
        else:
            statement = statement.where(Distributor.real_name.startswith(q, autoescape=True))
    page = paginate(statement)
    ids = [row.user_id for row in page.items]
    pending = db.session.scalar(
        select(func.count())
        .select_from(Distributor)
        .where(Distributor.status == DistributorStatus.PENDING)
    )
    levels = {level.id: level.name for level in distributor_service.list_levels()}
    return render_template(
        "panel/distributors.html",
        page=page,
        status=status,
        q=q,
        statuses=STATUSES,
        pending=pending,
        levels=levels,
        facts=_page_facts(ids),
        review_form=ReviewForm(),
    )


def _load(user_id: int) -> Distributor:
    row = db.session.get(Distributor, user_id)
    if row is None:
        abort(404)
    return row


def _render_detail(row: Distributor, status: int = 200, **forms: FlaskForm):  # type: ignore[no-untyped-def]
    user_id = row.user_id
    user = db.session.get(User, user_id)
    account = db.session.get(DistributorAccount, user_id)
    level = db.session.get(DistributorLevel, row.level_id) if row.level_id else None
    referral = db.session.get(Referral, user_id)
    team = db.session.execute(
        select(Referral.user_id, Referral.bound_at, Referral.expires_at)
        .where(Referral.parent_id == user_id)
        .order_by(Referral.bound_at.desc(), Referral.user_id.desc())
        .limit(DETAIL_ROWS)
    ).all()
    team_size = db.session.scalar(
        select(func.count()).select_from(Referral).where(Referral.parent_id == user_id)
    )
    commission = db.session.scalars(
        select(Commission)
        .where(Commission.beneficiary_id == user_id)
        .order_by(Commission.created_at.desc(), Commission.id.desc())
        .limit(DETAIL_ROWS)
    ).all()
    withdrawals = db.session.scalars(
        select(Withdrawal)
        .where(Withdrawal.user_id == user_id)
        .order_by(Withdrawal.created_at.desc(), Withdrawal.id.desc())
        .limit(DETAIL_ROWS)
    ).all()
    chain = [referral.parent_id, referral.grandparent_id] if referral else [None, None]
    names = names_of({*(c for c in chain if c), *(m.user_id for m in team)})
    body = render_template(
        "panel/distributor_detail.html",
        row=row,
        user=user,
        account=account,
        level=level,
        referral=referral,
        chain=chain,
        names=names,
        team=team,
        team_size=team_size,
        commission=commission,
        withdrawals=withdrawals,
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
        db.session.rollback()
        if exc.status != 400 or not _attach(form, exc):
            raise
        return _render_detail(_load(user_id), 400, review_form=form)
    return _done(user_id, "Application approved." if approve else "Application rejected.")


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
    return _done(user_id, "Level set.")


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
    return _done(user_id, "Distributor disabled." if disable else "Distributor enabled.")


@panel_bp.post("/distributors/<int:user_id>/referrer")
@area("distributors")
def distributor_referrer(user_id: int):  # type: ignore[no-untyped-def]
    row = _load(user_id)
    form = ReferrerForm()
    if not form.validate():
        return _render_detail(row, 400, referrer_form=form)
    new_parent = form.referrer_id.data
    current = db.session.get(Referral, user_id)
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
        db.session.rollback()
        if exc.status != 400 or not _attach(form, exc):
            raise
        return _render_detail(_load(user_id), 400, referrer_form=form)
    return _done(user_id, "Referrer changed." if new_parent else "Referrer removed.")
