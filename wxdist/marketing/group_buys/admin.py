"""Staff's side of group buys: saving an activity and its SKUs. The caller commits.

An activity SKU's `stock_left` moves with `stock` by the difference, refused below zero
(staff cannot take back units that live group orders hold), and an activity stock above
what the SKU itself has left is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.core.errors import BadRequest, NotFound
from wxdist.core.extensions import db
from wxdist.models import CommissionMode, GroupActivity, GroupSku, Sku

MIN_SIZE, MAX_SIZE = 2, 50
MAX_MINUTES = 7 * 24 * 60
MAX_SKUS = 50


@dataclass(frozen=True)
class SkuSpec:
    sku_id: int
    price_fen: int
    stock: int


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    starts_at: datetime
    ends_at: datetime
    skus: list[SkuSpec]
    group_size: int = 2
    time_limit_minutes: int = 24 * 60
    commission_mode: str = CommissionMode.NONE
    coupons_allowed: bool = False
    leader_reward_fen: int = 0
    enabled: bool = True
    problems: dict[str, str] = field(default_factory=dict)


def _problems(spec: ActivitySpec) -> dict[str, str]:
    problems = dict(spec.problems)
    if not spec.name.strip() or len(spec.name) > 64:
        problems["name"] = _("Give the activity a name of at most 64 characters.")
    if spec.ends_at <= spec.starts_at:
        problems["ends_at"] = _("The activity must end after it starts.")
    if not MIN_SIZE <= spec.group_size <= MAX_SIZE:
        problems["group_size"] = _("Between %(low)s and %(high)s.", low=MIN_SIZE, high=MAX_SIZE)
    if not 1 <= spec.time_limit_minutes <= MAX_MINUTES:
        problems["time_limit_minutes"] = _("Between %(low)s and %(high)s.", low=1, high=MAX_MINUTES)
    if spec.commission_mode not in CommissionMode.ALL:
        problems["commission_mode"] = _("Not a valid choice.")
    if spec.leader_reward_fen < 0:
        problems["leader_reward_fen"] = _("Not below zero.")
    if not spec.skus or len(spec.skus) > MAX_SKUS:
        problems["skus"] = _("Give between 1 and %(count)s SKUs.", count=MAX_SKUS)
    elif len({s.sku_id for s in spec.skus}) != len(spec.skus):
        problems["skus"] = _("A SKU appears twice.")
    return problems


def save_activity(spec: ActivitySpec, activity_id: int | None = None) -> GroupActivity:
    """Create (or update) an activity with its SKUs; flushes, the caller commits. Raises
    BadRequest `invalid` naming the fields (`skus.<i>.stock` for a stock above the SKU's or
    below what live orders hold, `skus.<i>.price_fen`), NotFound for an unknown activity."""
    problems = _problems(spec)
    activity = (
        GroupActivity() if activity_id is None else db.session.get(GroupActivity, activity_id)
    )
    if activity is None:
        raise NotFound(_("no such group-buy activity"))
    current = {}
    if activity_id is not None:
        current = {
            s.sku_id: s
            for s in db.session.scalars(select(GroupSku).where(GroupSku.activity_id == activity_id))
        }
    for i, wanted in enumerate(spec.skus):
        sku = db.session.get(Sku, wanted.sku_id)
        if sku is None:
            problems[f"skus.{i}.sku_id"] = _("No such SKU.")
            continue
        if wanted.price_fen <= 0:
            problems[f"skus.{i}.price_fen"] = _("Above zero.")
        held = 0
        if wanted.sku_id in current:
            row = current[wanted.sku_id]
            held = row.stock - row.stock_left
        if wanted.stock < held or wanted.stock - held > sku.stock:
            problems[f"skus.{i}.stock"] = _(
                "Between %(low)s and %(high)s.", low=held, high=held + sku.stock
            )
    if problems:
        raise BadRequest(_("Please correct the fields marked."), code="invalid", fields=problems)
    for name in (
        "name",
        "starts_at",
        "ends_at",
        "group_size",
        "time_limit_minutes",
        "commission_mode",
        "coupons_allowed",
        "leader_reward_fen",
        "enabled",
    ):
        setattr(activity, name, getattr(spec, name))
    db.session.add(activity)
    db.session.flush()
    for wanted in spec.skus:
        row = current.get(wanted.sku_id)
        if row is None:
            db.session.add(
                GroupSku(
                    activity_id=activity.id,
                    sku_id=wanted.sku_id,
                    price_fen=wanted.price_fen,
                    stock=wanted.stock,
                    stock_left=wanted.stock,
                )
            )
        else:
            row.stock_left += wanted.stock - row.stock
            row.stock, row.price_fen = wanted.stock, wanted.price_fen
    db.session.flush()
    return activity
