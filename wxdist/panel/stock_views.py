"""Stock alerts in the panel: the store's settings (owner only: the default low-stock
threshold, auto-pause) and each staff member's own opt-in (their account page: the
mini-program account that receives the alerts as a subscribe message). Both audited.

The sweep (`jobs.stock.sweep_stock_alerts`, every 30 s) applies a new default threshold or
auto-pause to every SKU; nothing is recomputed in the request.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import InputRequired, NumberRange, Optional

from wxdist.accounts import staff as staff_service
from wxdist.catalog import stock_settings
from wxdist.core.errors import ApiError
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.queries.staff import alert_account
from wxdist.panel.ui import audited

MAX_USER_ID = 2**62


class StockSettingsForm(FlaskForm):
    low_stock_threshold = IntegerField(
        _l("Default low-stock alert at"),
        validators=[InputRequired(), NumberRange(0, stock_settings.MAX_THRESHOLD)],
        description=_l("A SKU with this much stock or less is low (a SKU may set its own number)."),
    )
    auto_pause = BooleanField(
        _l("Take sold-out products off shelf"),
        description=_l(
            "When every SKU of a product on shelf is sold out, it goes off shelf, and back "
            "on as soon as stock returns. Products you take off shelf yourself stay off."
        ),
    )


class StockAlertsForm(FlaskForm):
    alert_user_id = IntegerField(
        _l("Your mini-program user id"),
        validators=[Optional(), NumberRange(1, MAX_USER_ID)],
        description=_l(
            "The alerts go to this account of the mini-program (its id is on the Customers "
            "page); it must accept the stock alert message there."
        ),
    )
    stock_alerts = BooleanField(_l("Send me stock alerts"))


def _settings_page(form: StockSettingsForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("panel/stock_settings.html", form=form), status


@panel_bp.route("/settings/stock", methods=["GET", "POST"])
@area("settings")
def stock_settings_page():  # type: ignore[no-untyped-def]
    current = stock_settings.current()
    if request.method == "GET":
        form = StockSettingsForm(formdata=None, obj=current)
        return _settings_page(form)
    form = StockSettingsForm()
    if not form.validate():
        return _settings_page(form, 400)
    wanted = {
        "low_stock_threshold": int(form.low_stock_threshold.data or 0),
        "auto_pause": bool(form.auto_pause.data),
    }
    before = {k: getattr(current, k) for k, v in wanted.items() if getattr(current, k) != v}
    if not before:
        flash(_("Nothing changed."), "success")
        return redirect(url_for("panel.stock_settings_page"), 303)
    try:
        with audited(
            "stock_settings.update", "stock_settings", stock_settings.SETTINGS_ID, before=before
        ) as note:
            saved = stock_settings.save(**wanted)
            note.after = {k: getattr(saved, k) for k in before}
    except ApiError as exc:
        for name, problem in exc.fields.items():
            if name in form:
                form[name].errors = [*form[name].errors, problem]
        return _settings_page(form, exc.status)
    flash(_("Stock alert settings saved."), "success")
    return redirect(url_for("panel.stock_settings_page"), 303)


def _account_page(form: StockAlertsForm, status: int = 200):  # type: ignore[no-untyped-def]
    template_id = current_app.config["SUBSCRIBE_TEMPLATES"]["stock_alert"]
    return (
        render_template(
            "panel/account.html",
            form=form,
            linked=alert_account(current_user.alert_user_id, template_id),
        ),
        status,
    )


@panel_bp.route("/account", methods=["GET", "POST"])
@area("dashboard")
def account():  # type: ignore[no-untyped-def]
    """The signed-in staff member's own settings: where their stock alerts go."""
    if request.method == "GET":
        return _account_page(StockAlertsForm(formdata=None, obj=current_user))
    form = StockAlertsForm()
    if not form.validate():
        return _account_page(form, 400)
    user_id, on = form.alert_user_id.data, bool(form.stock_alerts.data)
    before = {
        "alert_user_id": current_user.alert_user_id,
        "stock_alerts": current_user.stock_alerts,
    }
    after = {"alert_user_id": user_id, "stock_alerts": on}
    if before == after:
        flash(_("Nothing changed."), "success")
        return redirect(url_for("panel.account"), 303)
    try:
        with audited("staff.stock_alerts", "staff", current_user.id, before=before) as note:
            staff_service.set_stock_alerts(current_user.id, user_id, on)
            note.after = after
    except ApiError as exc:
        for name, problem in exc.fields.items():
            if name in form:
                form[name].errors = [*form[name].errors, problem]
        return _account_page(form, exc.status)
    flash(_("Stock alerts on.") if on else _("Stock alerts off."), "success")
    return redirect(url_for("panel.account"), 303)
