"""The distribution settings: one record, read and changed only here, each value validated.

Commission depth is 1 or 2: WeChat's platform rules and Chinese law on pyramid selling
(禁止传销条例) forbid more, so 3 or more is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from flask_babel import gettext as _

from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE
from wxdist.models import DistributionSettings

SETTINGS_ID = 1
MAX_DAYS = 3650


@dataclass(frozen=True)
class Settings:
    """A snapshot of the settings (safe to keep after the session ends)."""

    enabled: bool
    distributor_mode: str
    distributor_min_spend_fen: int
    application_review: str
    depth: int
    level1_rate_bp: int
    level2_rate_bp: int
    binding_mode: str
    binding_valid_days: int
    binding_scope: str
    self_purchase_commission: bool
    freeze_days: int
    auto_complete_days: int
    withdraw_min_fen: int
    withdraw_max_fen: int
    withdraw_daily_max_fen: int
    withdraw_fee_bp: int
    withdraw_min_fee_fen: int
    withdraw_methods: str
    withdraw_auto_approve_below_fen: int
    wechat_payout_api: str
    payout_cycle: str
    payout_weekday: int

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(m for m in self.withdraw_methods.split(",") if m)

    def rate_for_depth(self, level: int) -> int:
        return self.level1_rate_bp if level == 1 else self.level2_rate_bp


EDITABLE = tuple(f.name for f in fields(Settings))
CHOICES = {
    "distributor_mode": ("everyone", "spend", "application"),
    "application_review": ("auto", "manual"),
    "binding_mode": ("permanent", "valid_days", "last_touch"),
    "binding_scope": ("new_users", "no_referrer"),
    "wechat_payout_api": ("v2", "v3"),
    "payout_cycle": ("off", "daily", "weekly"),
}
WITHDRAW_METHODS = ("wechat", "alipay", "bank")
BOOLEANS = ("enabled", "self_purchase_commission")
RANGES = {
    "distributor_min_spend_fen": (0, 10**12),
    "level1_rate_bp": (0, BP_WHOLE),
    "level2_rate_bp": (0, BP_WHOLE),
    "binding_valid_days": (1, MAX_DAYS),
    "freeze_days": (0, 365),
    "auto_complete_days": (1, 365),
    "withdraw_min_fen": (1, 10**10),
    "withdraw_max_fen": (1, 10**10),
    "withdraw_daily_max_fen": (1, 10**11),
    "withdraw_fee_bp": (0, 5000),
    "withdraw_min_fee_fen": (0, 10**8),
    "withdraw_auto_approve_below_fen": (0, 10**10),
    "payout_weekday": (1, 7),
}


def _row() -> DistributionSettings:
    row = db.session.get(DistributionSettings, SETTINGS_ID)
    if row is None:
        row = DistributionSettings(id=SETTINGS_ID)
        db.session.add(row)
        db.session.flush()
    return row


def get_settings() -> Settings:
    """The current settings (defaults until someone changes them)."""
    row = db.session.get(DistributionSettings, SETTINGS_ID)
    if row is None:  # defaults, without writing: the row is created by the first update
        return Settings(**{name: _default(name) for name in EDITABLE})
    return Settings(**{name: getattr(row, name) for name in EDITABLE})


def _default(name: str) -> Any:
    column = DistributionSettings.__table__.c[name]
    return column.default.arg if column.default is not None else None


def validate_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Check and coerce changes. Raises ApiError naming each bad field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in EDITABLE:
            errors[name] = _("no such setting")
            continue
        if name in BOOLEANS:
            if not isinstance(value, bool):
                errors[name] = _("must be true or false")
                continue
        elif name == "withdraw_methods":
            methods = value.split(",") if isinstance(value, str) else []
            if not methods or any(m not in WITHDRAW_METHODS for m in methods):
                errors[name] = _("a comma list of %(choices)s", choices=", ".join(WITHDRAW_METHODS))
                continue
            value = ",".join(dict.fromkeys(methods))
        elif name in CHOICES:
            if value not in CHOICES[name]:
                errors[name] = _("must be one of %(choices)s", choices=", ".join(CHOICES[name]))
                continue
        elif name == "depth":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                errors[name] = _("must be 1 or 2")
                continue
            if value > 2:
                errors[name] = _(
                    "at most 2 levels: WeChat's rules and the law on pyramid selling forbid more"
                )
                continue
        else:
            low, high = RANGES[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors[name] = _("must be an integer from %(low)s to %(high)s", low=low, high=high)
                continue
        clean[name] = value
    if errors:
        raise ApiError(_("invalid settings"), code="invalid", fields=errors)
    return clean


def update_settings(**changes: Any) -> Settings:
    """Validate and apply changes in one transaction; return the new settings.

    Raises ApiError (fields named) for unknown names, bad values, depth 3+, or rates whose
    sum exceeds 100 %.
    """
    clean = validate_changes(changes)
    row = _row()
    for name, value in clean.items():
        setattr(row, name, value)
    errors = _cross_field_errors(row)
    if errors:
        db.session.rollback()
        raise ApiError(_("invalid settings"), code="invalid", fields=errors)
    db.session.commit()
    return get_settings()


def _cross_field_errors(row: DistributionSettings) -> dict[str, str]:
    errors = {}
    if row.level1_rate_bp + row.level2_rate_bp > BP_WHOLE:
        errors["level2_rate_bp"] = _("level 1 and level 2 rates together exceed 100 %")
    if row.withdraw_min_fen > row.withdraw_max_fen:
        errors["withdraw_min_fen"] = _("more than %(name)s", name="withdraw_max_fen")
    if row.withdraw_max_fen > row.withdraw_daily_max_fen:
        errors["withdraw_max_fen"] = _("more than %(name)s", name="withdraw_daily_max_fen")
    if row.withdraw_min_fee_fen >= row.withdraw_min_fen:
        errors["withdraw_min_fee_fen"] = _("the minimum fee would eat the minimum withdrawal")
    return errors


def parse_cli_value(name: str, raw: str) -> Any:
    """A `key=value` from the command line as the type the setting takes."""
    if name in BOOLEANS:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        return raw
    if name in CHOICES:
        return raw.strip()
    try:
        return int(raw)
    except ValueError:
        return raw
