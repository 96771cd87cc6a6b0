"""Settings (owner only): every distribution and withdrawal setting, in sections.

Money is entered in yuan and rates in percent (decimal text, never float) and held as fen
and basis points. Only the fields that differ from the stored settings are sent to
`update_settings`, which validates them (depth 3+ is refused there); its field errors are
shown next to the fields with HTTP 400 and nothing is saved. Audited as `settings.update`
with the before and after of the changed fields.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from wxdist.core.errors import ApiError
from wxdist.distribution.settings import (
    CHOICES,
    EDITABLE,
    SETTINGS_ID,
    WITHDRAW_METHODS,
    get_settings,
    update_settings,
)
from wxdist.money import rails
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.decimal_fields import PercentField, YuanField
from wxdist.panel.ui import audited

WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)

LABELS = {
    "everyone": _l("everyone who signs in"),
    "spend": _l("after a cumulative paid spend"),
    "application": _l("by application"),
    "auto": _l("approved automatically"),
    "manual": _l("reviewed by hand"),
    "permanent": _l("permanent (first referrer keeps the shopper)"),
    "valid_days": _l("for a number of days, then free"),
    "last_touch": _l("last shared link wins"),
    "new_users": _l("only shoppers who are new"),
    "no_referrer": _l("any shopper without a referrer"),
    "off": _l("off"),
    "daily": _l("daily"),
    "weekly": _l("weekly"),
}


def _choices(name: str) -> list[tuple[str, LazyString | str]]:
    return [(value, LABELS.get(value, value)) for value in CHOICES[name]]


def _days(label: LazyString, description: LazyString) -> IntegerField:
    return IntegerField(label, validators=[InputRequired()], description=description)


class SettingsForm(FlaskForm):
    # programme
    enabled = BooleanField(
        _l("Programme on"), description=_l("Off: no new bindings, applications or commission.")
    )
    distributor_mode = SelectField(
        _l("Who becomes a distributor"), choices=_choices("distributor_mode")
    )
    distributor_min_spend_fen = YuanField(
        _l("Spend needed (¥)"), description=_l("For “after a cumulative paid spend”.")
    )
    application_review = SelectField(_l("Applications"), choices=_choices("application_review"))
    # commission
    depth = IntegerField(
        _l("Levels paid"),
        validators=[InputRequired()],
        description=_l("1 or 2. WeChat's rules and the law on pyramid selling forbid more."),
    )
    level1_rate_bp = PercentField(
        _l("Level 1 rate (%)"),
        description=_l("Default for the direct referrer (a level or product may override)."),
    )
    level2_rate_bp = PercentField(
        _l("Level 2 rate (%)"),
        description=_l("Default for the referrer's referrer. L1 + L2 ≤ 100 %."),
    )
    self_purchase_commission = BooleanField(
        _l("Self-purchase commission"),
        description=_l("A distributor buying for themselves earns level 1."),
    )
    # binding
    binding_mode = SelectField(_l("Binding"), choices=_choices("binding_mode"))
    binding_valid_days = _days(_l("Binding valid for (days)"), _l("For “for a number of days”."))
    binding_scope = SelectField(_l("Who can be bound"), choices=_choices("binding_scope"))
    # settlement
    freeze_days = _days(
        _l("Freeze days"),
        _l("Commission stays frozen this long after the order completes (refunds)."),
    )
    auto_complete_days = _days(
        _l("Auto-complete days"), _l("A shipped order completes by itself after this many days.")
    )
    # withdrawals
    withdraw_min_fen = YuanField(_l("Minimum withdrawal (¥)"))
    withdraw_max_fen = YuanField(_l("Maximum per withdrawal (¥)"))
    withdraw_daily_max_fen = YuanField(_l("Daily maximum per distributor (¥)"))
    withdraw_fee_bp = PercentField(_l("Fee (%)"), description=_l("Of the amount; at most 50 %."))
    withdraw_min_fee_fen = YuanField(
        _l("Minimum fee (¥)"), description=_l("Must stay below the minimum withdrawal.")
    )
    withdraw_methods = SelectMultipleField(
        _l("Methods"),
        choices=[(m, rails.label(m)) for m in WITHDRAW_METHODS],
        invalid_choice_message=_l("Choose among the methods listed."),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    withdraw_auto_approve_below_fen = YuanField(
        _l("Approve automatically below (¥)"), description=_l("0: every withdrawal is reviewed.")
    )
    wechat_payout_api = SelectField(
        _l("WeChat payout API"),
        choices=[(api, rails.api_label(api)) for api in CHOICES["wechat_payout_api"]],
    )
    # payout cycle
    payout_cycle = SelectField(
        _l("Payout cycle"),
        choices=_choices("payout_cycle"),
        description=_l("Approved withdrawals are paid in batches on this cycle (off: at once)."),
    )
    payout_weekday = SelectField(
        _l("Weekday (weekly cycle)"),
        coerce=int,
        choices=[(day, name) for day, name in enumerate(WEEKDAYS, start=1)],
    )


SECTIONS = (
    (
        _l("Programme"),
        _l("Whether the distribution programme runs and who may join it."),
        ("enabled", "distributor_mode", "distributor_min_spend_fen", "application_review"),
    ),
    (
        _l("Commission"),
        _l("How many levels earn and at what default rates."),
        ("depth", "level1_rate_bp", "level2_rate_bp", "self_purchase_commission"),
    ),
    (
        _l("Binding"),
        _l("How a shopper is tied to the distributor who shared."),
        ("binding_mode", "binding_valid_days", "binding_scope"),
    ),
    (
        _l("Settlement"),
        _l("When frozen commission becomes available."),
        ("freeze_days", "auto_complete_days"),
    ),
    (
        _l("Withdrawals"),
        _l("Limits, fees and ways distributors are paid."),
        (
            "withdraw_min_fen",
            "withdraw_max_fen",
            "withdraw_daily_max_fen",
            "withdraw_fee_bp",
            "withdraw_min_fee_fen",
            "withdraw_methods",
            "withdraw_auto_approve_below_fen",
            "wechat_payout_api",
        ),
    ),
    (
        _l("Payout cycle"),
        _l("When approved withdrawals are paid."),
        ("payout_cycle", "payout_weekday"),
    ),
)
assert sorted(n for _, _, names in SECTIONS for n in names) == sorted(EDITABLE)


def _form_values(form: SettingsForm) -> dict[str, Any]:
    values: dict[str, Any] = {name: form[name].data for name in EDITABLE}
    chosen = set(values["withdraw_methods"] or ())
    values["withdraw_methods"] = ",".join(m for m in WITHDRAW_METHODS if m in chosen)
    values["enabled"] = bool(values["enabled"])
    values["self_purchase_commission"] = bool(values["self_purchase_commission"])
    return values


def _initial(form: SettingsForm) -> None:
    current = asdict(get_settings())
    for name in EDITABLE:
        form[name].data = current[name]
    form.withdraw_methods.data = [m for m in current["withdraw_methods"].split(",") if m]


@panel_bp.route("/settings", methods=["GET", "POST"])
@area("settings")
def settings():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        form = SettingsForm(formdata=None)
        _initial(form)
        return render_template("panel/settings.html", form=form, sections=SECTIONS, loose=[])
    form = SettingsForm()
    if not form.validate():
        return render_template("panel/settings.html", form=form, sections=SECTIONS, loose=[]), 400
    current = get_settings()
    values = _form_values(form)
    changes = {k: v for k, v in values.items() if getattr(current, k) != v}
    if not changes:
        flash(_("Nothing changed."), "success")
        return redirect(url_for("panel.settings"), 303)
    try:
        with audited(
            "settings.update",
            "settings",
            SETTINGS_ID,
            before={k: getattr(current, k) for k in changes},
        ) as note:
            new = update_settings(**changes)
            note.after = {k: getattr(new, k) for k in changes}
    except ApiError as exc:
        loose = []
        for name, problem in exc.fields.items():
            if name in form:
                form[name].errors = [*form[name].errors, problem]
            else:
                loose.append(f"{name}: {problem}")
        return (
            render_template("panel/settings.html", form=form, sections=SECTIONS, loose=loose),
            exc.status,
        )
    names = _(", ").join(str(form[name].label.text) for name in EDITABLE if name in changes)
    flash(_("Settings saved: %(fields)s.", fields=names), "success")
    return redirect(url_for("panel.settings"), 303)
