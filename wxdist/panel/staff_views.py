"""Staff accounts (owner only): add an account, change a role, disable or enable, set a
new password. Every change is audited (never the password itself) and ends the account's
open sessions, so new rights apply at once. The last active owner cannot be demoted or
disabled."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from wxdist.accounts import staff as staff_service
from wxdist.core.errors import ApiError
from wxdist.models.staff import StaffRole, StaffUser
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.labels import label
from wxdist.panel.queries.staff import staff_user
from wxdist.panel.ui import audited

ROLE_CHOICES = [
    (StaffRole.OWNER, _l("owner: everything")),
    (StaffRole.OPERATOR, _l("operator: distributors, orders, products")),
    (StaffRole.FINANCE, _l("finance: withdrawals, commission, reports")),
]


_PASSWORD_LENGTH = Length(
    min=staff_service.MIN_PASSWORD,
    max=256,
    message=_l("at least %(min)s characters (256 at most)"),  # WTForms fills in min
)


class NewStaffForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(message=_l("Enter a username.")),
            Length(min=3, max=64, message=_l("Username: 3 to 64 characters.")),
        ],
    )
    display_name = StringField(
        _l("Name shown"),
        validators=[Optional(), Length(max=64, message=_l("Name shown: at most 64 characters."))],
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter a password.")), _PASSWORD_LENGTH],
        description=_l(
            "At least %(min)s characters; tell them privately.", min=staff_service.MIN_PASSWORD
        ),
    )


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"])])


class PasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=_l("a new password is required")), _PASSWORD_LENGTH],
    )


def _page(new_form: NewStaffForm | None = None, errors: dict[int, str] | None = None, status=200):  # type: ignore[no-untyped-def]
    accounts = staff_service.list_staff()
    return (
        render_template(
            "panel/staff.html",
            accounts=accounts,
            new_form=new_form or NewStaffForm(),
            role_forms={s.id: RoleForm(prefix=f"r{s.id}", role=s.role) for s in accounts},
            active_form=ActiveForm(),
            password_form=PasswordForm(),
            errors=errors or {},
        ),
        status,
    )


def _fail(staff_id: int, exc: ApiError):  # type: ignore[no-untyped-def]
    """The page again with the service's refusal (`audited` has rolled back)."""
    message = "; ".join(exc.fields.values()) or exc.message
    return _page(errors={staff_id: message}, status=exc.status)


@panel_bp.get("/staff")
@area("staff")
def staff():  # type: ignore[no-untyped-def]
    return _page()


@panel_bp.post("/staff")
@area("staff")
def staff_create():  # type: ignore[no-untyped-def]
    form = NewStaffForm()
    if not form.validate_on_submit():
        return _page(new_form=form, status=400)
    try:
        with audited("staff.create", "staff", "new") as note:
            created = staff_service.create_staff(
                form.username.data or "",
                form.password.data or "",
                form.role.data or "",
                form.display_name.data or "",
            )
            note.target_id = created.id
            note.after = {"username": created.username, "role": created.role}
    except ApiError as exc:
        for name, problem in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, problem]
        if not exc.fields:
            form.username.errors = [*form.username.errors, exc.message]
        return _page(new_form=form, status=exc.status)
    flash(_("Account %(name)s created.", name=created.username), "success")
    return redirect(url_for("panel.staff"), 303)


def _target(staff_id: int) -> StaffUser:
    account = staff_user(staff_id)
    if account is None:
        abort(404)
    return account


@panel_bp.post("/staff/<int:staff_id>/role")
@area("staff")
def staff_role(staff_id: int):  # type: ignore[no-untyped-def]
    account = _target(staff_id)
    form = RoleForm(prefix=f"r{staff_id}")
    if not form.validate_on_submit():
        return _page(errors={staff_id: _("choose a role")}, status=400)
    try:
        with audited("staff.role", "staff", staff_id, before={"role": account.role}) as note:
            changed = staff_service.set_role(staff_id, form.role.data or "")
            note.after = {"role": changed.role}
    except ApiError as exc:
        return _fail(staff_id, exc)
    flash(
        _("%(name)s is now %(role)s.", name=changed.username, role=label(changed.role)), "success"
    )
    return redirect(url_for("panel.staff"), 303)


@panel_bp.post("/staff/<int:staff_id>/active")
@area("staff")
def staff_active(staff_id: int):  # type: ignore[no-untyped-def]
    account = _target(staff_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        return _page(errors={staff_id: _("active must be 0 or 1")}, status=400)
    active = form.active.data == "1"
    if not active and staff_id == current_user.id:
        return _page(errors={staff_id: _("you cannot disable your own account")}, status=400)
    action = "staff.enable" if active else "staff.disable"
    try:
        with audited(action, "staff", staff_id, before={"active": account.active}) as note:
            changed = staff_service.set_active(staff_id, active)
            note.after = {"active": changed.active}
    except ApiError as exc:
        return _fail(staff_id, exc)
    name = changed.username
    flash(
        _("%(name)s enabled.", name=name) if active else _("%(name)s disabled.", name=name),
        "success",
    )
    return redirect(url_for("panel.staff"), 303)


@panel_bp.post("/staff/<int:staff_id>/password")
@area("staff")
def staff_password(staff_id: int):  # type: ignore[no-untyped-def]
    _target(staff_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        problem = "; ".join(str(e) for e in form.password.errors) or _("a new password is required")
        return _page(errors={staff_id: problem}, status=400)
    with audited("staff.password", "staff", staff_id) as note:
        changed = staff_service.set_password(staff_id, form.password.data or "")
        note.after = {"password": "changed", "sessions": "ended"}
    flash(
        _("New password set for %(name)s; their sessions ended.", name=changed.username), "success"
    )
    if staff_id == current_user.id:
        return redirect(url_for("panel.login"), 303)
    return redirect(url_for("panel.staff"), 303)
