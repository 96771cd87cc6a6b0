"""Sign in and out. Failed sign-ins are throttled so that a stranger cannot lock staff out.

- Per address: PANEL_LOGIN_ADDRESS_LIMIT failures (any usernames) and the address waits for
  the window to pass: one address cannot guess its way through many accounts.
- Per (address, username): PANEL_LOGIN_LIMIT failures and that address waits for that
  username. Another address is not affected: ten wrong passwords for `admin` from anywhere
  no longer block the owner's right password from their own address.
- Per username, from every address: past PANEL_LOGIN_LIMIT failures the username is under
  attack, and is *slowed*: each address then gets only UNDER_ATTACK_TRIES failures on it per
  window instead of PANEL_LOGIN_LIMIT. An address with fewer failures on it (the owner's,
  which has not failed) signs in as usual; so a guesser spread over many addresses gets a
  few guesses per address, and the account is never locked against an address that has not
  failed. No delay is added: a sleeping request would hold a web worker, itself a way to
  take the panel down.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from limits import parse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from wxdist.accounts.staff import authenticate
from wxdist.core.rate_limits import app_limiter
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.ui import client_ip


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


UNDER_ATTACK_TRIES = 3


class _Throttle:
    """The three counts of the module docstring, for one sign-in attempt."""

    def __init__(self, username: str) -> None:
        config = current_app.config
        self.limiter = app_limiter("panel_login")
        self.limit = parse(config["PANEL_LOGIN_LIMIT"])
        self.address_limit = parse(config["PANEL_LOGIN_ADDRESS_LIMIT"])
        name, address = username.strip().lower(), client_ip()
        self.address_key = f"panel-login:ip:{address}"
        self.pair_key = f"panel-login:ip-user:{address}:{name}"
        self.user_key = f"panel-login:user:{name}"

    def refused(self) -> bool:
        limiter, limit = self.limiter, self.limit
        if not limiter.test(self.address_limit, self.address_key):
            return True
        if not limiter.test(limit, self.pair_key):
            return True
        under_attack = not limiter.test(limit, self.user_key)
        return under_attack and limiter.used(limit, self.pair_key) >= UNDER_ATTACK_TRIES

    def failed(self) -> None:
        self.limiter.hit(self.address_limit, self.address_key)
        self.limiter.hit(self.limit, self.pair_key)
        self.limiter.hit(self.limit, self.user_key)


@panel_bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("panel.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        throttle = _Throttle(form.username.data or "")
        if throttle.refused():
            flash(_("Too many failed sign-ins. Wait a few minutes and try again."), "error")
            return render_template("panel/login.html", form=form), 429
        staff = authenticate(form.username.data or "", form.password.data or "")
        if staff is not None:
            login_user(staff)
            return redirect(_safe_next(request.args.get("next")))
        throttle.failed()
        flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("panel/login.html", form=form), status


def _safe_next(target: str | None) -> str:
    """Only a path inside the panel: never an open redirect to another site."""
    if target and target.startswith("/panel") and not target.startswith("//"):
        return target
    return url_for("panel.dashboard")


@panel_bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    flash(_("Signed out."), "info")
    return redirect(url_for("panel.login"))
