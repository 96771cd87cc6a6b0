"""The group-buy form: settings, the window (Shanghai time, "start ~ end"), SKUs one per
line ("SKU id, group price in yuan, activity stock"). The form parses the lines; the
service (`marketing.group_buys.admin`) checks the rules."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from wxdist.core.clock import to_local
from wxdist.core.money import parse_yuan, yuan_text
from wxdist.marketing.group_buys.admin import ActivitySpec, SkuSpec
from wxdist.models import CommissionMode, GroupActivity, GroupSku
from wxdist.models.types import utcnow
from wxdist.panel.activity_lines import parse_window, read_sku_lines


class GroupForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            InputRequired(_l("Enter a name.")),
            Length(max=64, message=_l("Name: at most 64 characters.")),
        ],
    )
    window = StringField(
        _l("Period"), description=_l("Shanghai time: 2026-12-12 20:00 ~ 2026-12-14 20:00")
    )
    skus = TextAreaField(
        _l("SKUs"),
        description=_l(
            "One per line: SKU id, group price (yuan), activity stock — e.g. 12, 9.90, 100"
        ),
    )
    group_size = IntegerField(
        _l("Group size"), default=2, validators=[NumberRange(2, 50, _l("Between 2 and 50."))]
    )
    time_limit_minutes = IntegerField(
        _l("Minutes to fill a group"),
        default=24 * 60,
        validators=[NumberRange(1, 7 * 24 * 60, _l("Between 1 and 10080."))],
    )
    commission_mode = SelectField(
        _l("Commission"),
        choices=[(CommissionMode.NONE, _l("none")), (CommissionMode.NORMAL, _l("as usual"))],
        default=CommissionMode.NONE,
    )
    coupons_allowed = BooleanField(_l("Coupons may be used"))
    leader_reward = StringField(
        _l("Leader reward (yuan)"),
        validators=[Optional()],
        description=_l("Optional; empty or 0 for none."),
    )
    enabled = BooleanField(_l("On"), default=True)

    def fill(self, activity: GroupActivity, skus: list[GroupSku]) -> None:
        """The form showing a saved activity."""
        self.name.data = activity.name
        self.window.data = (
            f"{to_local(activity.starts_at):%Y-%m-%d %H:%M} ~ "
            f"{to_local(activity.ends_at):%Y-%m-%d %H:%M}"
        )
        self.group_size.data = activity.group_size
        self.time_limit_minutes.data = activity.time_limit_minutes
        self.commission_mode.data = activity.commission_mode
        self.coupons_allowed.data = activity.coupons_allowed
        self.leader_reward.data = yuan_text(activity.leader_reward_fen, symbol="")
        self.enabled.data = activity.enabled
        self.skus.data = "\n".join(
            f"{s.sku_id}, {yuan_text(s.price_fen, symbol='')}, {s.stock}" for s in skus
        )

    def spec(self) -> ActivitySpec:
        problems: dict[str, str] = {}
        starts = ends = None
        try:
            starts, ends = parse_window(self.window.data or "")
        except ValueError:
            problems["window"] = _("Not “start ~ end”.")
        reward = 0
        try:
            reward = parse_yuan(self.leader_reward.data or "0")
        except ValueError:
            problems["leader_reward"] = _("Not an amount.")
        skus = read_sku_lines(self.skus.data or "", problems, SkuSpec)
        return ActivitySpec(
            name=self.name.data or "",
            starts_at=starts or utcnow(),
            ends_at=ends or utcnow(),
            skus=skus,
            group_size=self.group_size.data or 0,
            time_limit_minutes=self.time_limit_minutes.data or 0,
            commission_mode=self.commission_mode.data or CommissionMode.NONE,
            coupons_allowed=bool(self.coupons_allowed.data),
            leader_reward_fen=reward,
            enabled=bool(self.enabled.data),
            problems=problems,
        )

    def attach(self, fields: dict[str, str], message: str) -> None:
        """The service's field errors beside the fields (`skus.N.x` beside the SKUs, with
        the line; `ends_at` beside the period); anything else beside the name."""
        for key, problem in fields.items() or [("name", message)]:
            head, _dot, rest = key.partition(".")
            head = {"ends_at": "window", "leader_reward_fen": "leader_reward"}.get(head, head)
            target = self._fields.get(head) or self.name
            if rest:
                index = rest.partition(".")[0]
                problem = _("Line %(number)s: %(problem)s", number=int(index) + 1, problem=problem)
            target.errors = [*target.errors, problem]


def spec_dict(spec: ActivitySpec) -> dict[str, Any]:
    """What the audit log keeps of a saved activity."""
    return {
        "name": spec.name,
        "window": [spec.starts_at, spec.ends_at],
        "skus": [[s.sku_id, s.price_fen, s.stock] for s in spec.skus],
        "group_size": spec.group_size,
        "time_limit_minutes": spec.time_limit_minutes,
        "commission_mode": spec.commission_mode,
        "coupons_allowed": spec.coupons_allowed,
        "leader_reward_fen": spec.leader_reward_fen,
        "enabled": spec.enabled,
    }
