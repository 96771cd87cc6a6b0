"""The incentive campaign form (激励活动): a boost (rate and budget) or a bonus (tiers).
Money in yuan, rates in percent, times in Shanghai; `data()` turns it into what
`incentives.campaigns` takes, and that service validates the rules."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, FormField, HiddenField, IntegerField, SelectField
from wtforms import StringField as TextField
from wtforms.validators import AnyOf, Length, Optional, ValidationError

from wxdist.core.clock import from_local, to_local
from wxdist.incentives.campaigns import MAX_TIERS, PERIODS, RATE_MODES, SCOPES, CampaignIn
from wxdist.models import CampaignKind, IncentiveCampaign
from wxdist.models.types import utcnow
from wxdist.panel.decimal_fields import PercentField, YuanField
from wxdist.panel.labels import label
from wxdist.panel.time_fields import IdListField, LocalTimeField
from wxdist.panel.ui import SubForm


def _soon(**delta: int) -> datetime:
    return (utcnow() + timedelta(**delta)).replace(second=0, microsecond=0)


def _priority(form: Any, field: Any) -> None:
    if field.data is not None and not -1000 <= field.data <= 1000:
        raise ValidationError(str(_l("a whole number from -1000 to 1000")))


class BonusTierRow(SubForm):
    threshold_fen = YuanField(_l("Net sales from (¥)"), optional=True)
    bonus_fen = YuanField(_l("Bonus (¥)"), optional=True)


def period_end(starts_at: datetime, period: str) -> datetime | None:
    """The end of a week or a month starting at `starts_at` (Shanghai calendar), as UTC."""
    local = to_local(starts_at)
    if period == "week":
        return from_local(local + timedelta(days=7))
    if period == "month":
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        day = min(local.day, calendar.monthrange(year, month)[1])
        return from_local(local.replace(year=year, month=month, day=day))
    return None


class CampaignForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[AnyOf(CampaignKind.ALL)])
    name = TextField(
        _l("Name"), validators=[Length(min=1, max=64, message=_l("Name: 1 to 64 characters."))]
    )
    starts_at = LocalTimeField(_l("Starts"), default=lambda: _soon())
    ends_at = LocalTimeField(
        _l("Ends"),
        optional=True,
        default=lambda: _soon(days=7),
        description=_l("For a weekly or monthly bonus: computed from the start."),
    )
    # Boost
    scope = SelectField(_l("Applies to"), validators=[AnyOf(SCOPES)])
    scope_ids = IdListField(
        _l("Chosen ids"),
        description=_l("Product, category or distributor level ids, by the choice above."),
    )
    rate_mode = SelectField(_l("Rate"), validators=[AnyOf(RATE_MODES)])
    rate_bp = PercentField(_l("Rate or extra (%)"), optional=True)
    priority = IntegerField(
        _l("Priority"),
        default=0,
        validators=[Optional(), _priority],
        description=_l("When several apply, the highest wins; on a tie, the older campaign."),
    )
    budget_fen = YuanField(
        _l("Budget (¥)"),
        optional=True,
        description=_l(
            "Only the commission paid above the normal rate counts; once spent, the normal "
            "rate applies. Refunds do not return budget."
        ),
    )
    # Bonus
    period = SelectField(_l("Period"), validators=[AnyOf(PERIODS)])
    tiers = FieldList(FormField(BonusTierRow), min_entries=5, max_entries=MAX_TIERS)
    activate = BooleanField(_l("Start it now (otherwise saved as a draft)"))

    def setup(self) -> CampaignForm:
        self.kind.choices = [(code, label(code)) for code in CampaignKind.ALL]
        self.scope.choices = [(code, label(f"scope_{code}")) for code in SCOPES]
        self.rate_mode.choices = [(code, label(f"rate_{code}")) for code in RATE_MODES]
        self.period.choices = [(code, label(f"period_{code}")) for code in PERIODS]
        return self

    def fill(self, campaign: IncentiveCampaign) -> CampaignForm:
        """Show a campaign's values (a GET of its edit page)."""
        for name in ("kind", "name", "starts_at", "scope", "rate_mode", "rate_bp", "priority"):
            self[name].data = getattr(campaign, name)
        self.ends_at.data = campaign.ends_at
        self.scope_ids.data = list(campaign.scope_ids or [])
        self.budget_fen.data = campaign.budget_fen
        self.period.data = campaign.period
        for row, tier in zip(self.tiers, campaign.tiers, strict=False):
            row.form.threshold_fen.data = tier.threshold_fen
            row.form.bonus_fen.data = tier.bonus_fen
        return self

    def data_in(self) -> CampaignIn:
        tiers = tuple(
            (row.form.threshold_fen.data or 0, row.form.bonus_fen.data or 0)
            for row in self.tiers
            if row.form.threshold_fen.data is not None or row.form.bonus_fen.data is not None
        )
        ends_at = self.ends_at.data
        if self.kind.data == CampaignKind.BONUS and self.starts_at.data is not None:
            ends_at = period_end(self.starts_at.data, self.period.data or "") or ends_at
        return CampaignIn(
            name=self.name.data or "",
            kind=self.kind.data or "",
            starts_at=self.starts_at.data,
            ends_at=ends_at,
            scope=self.scope.data or "all",
            scope_ids=tuple(self.scope_ids.data or ()),
            rate_mode=self.rate_mode.data or "extra",
            rate_bp=self.rate_bp.data or 0,
            priority=self.priority.data or 0,
            budget_fen=self.budget_fen.data or 0,
            period=self.period.data or "custom",
            tiers=tiers,
            activate=bool(self.activate.data),
        )


class StopForm(FlaskForm):
    action = HiddenField(validators=[AnyOf(["stop"])])
