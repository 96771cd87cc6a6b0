"""Incentive campaigns: validate, create, edit, start and stop them, and read them.

A campaign is created as a draft or active. A draft may be edited freely; an active one
only in its name, end, priority and budget (never below what it has spent), so records
already written keep meaning what they said; an ended one not at all. Staff stop an active
campaign (`stop`): it applies to nothing paid after that instant.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.core.errors import ApiError, NotFound
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE
from wxdist.models import BonusTier, CampaignKind, CampaignStatus, IncentiveCampaign
from wxdist.models.types import utcnow

SCOPES = ("all", "products", "categories", "levels")
RATE_MODES = ("override", "extra")
PERIODS = ("week", "month", "custom")
MAX_FEN = 10**12
MAX_TIERS = 10
MAX_SCOPE_IDS = 500
EDITABLE_WHEN_ACTIVE = ("name", "ends_at", "priority", "budget_fen")


@dataclass
class CampaignIn:
    """What staff give for a campaign (the panel's form, parsed)."""

    name: str
    kind: str
    starts_at: datetime | None
    ends_at: datetime | None
    scope: str = "all"
    scope_ids: tuple[int, ...] = ()
    rate_mode: str = "extra"
    rate_bp: int = 0
    priority: int = 0
    budget_fen: int = 0
    period: str = "custom"
    tiers: tuple[tuple[int, int], ...] = ()  # (threshold_fen, bonus_fen)
    activate: bool = False


def _check_common(data: CampaignIn, errors: dict[str, str]) -> None:
    if not data.name.strip() or len(data.name.strip()) > 64:
        errors["name"] = _("a name of 1 to 64 characters")
    if data.kind not in CampaignKind.ALL:
        errors["kind"] = _("must be one of %(choices)s", choices=", ".join(CampaignKind.ALL))
    if data.starts_at is None:
        errors["starts_at"] = _("required")
    if data.ends_at is None:
        errors["ends_at"] = _("required")
    elif data.starts_at is not None and data.ends_at <= data.starts_at:
        errors["ends_at"] = _("must be after the start")


def _check_boost(data: CampaignIn, errors: dict[str, str]) -> None:
    if data.scope not in SCOPES:
        errors["scope"] = _("must be one of %(choices)s", choices=", ".join(SCOPES))
    elif data.scope != "all" and not data.scope_ids:
        errors["scope_ids"] = _("choose at least one")
    elif len(data.scope_ids) > MAX_SCOPE_IDS:
        errors["scope_ids"] = _("at most %(n)s", n=MAX_SCOPE_IDS)
    if data.rate_mode not in RATE_MODES:
        errors["rate_mode"] = _("must be one of %(choices)s", choices=", ".join(RATE_MODES))
    if not 1 <= data.rate_bp <= BP_WHOLE:
        errors["rate_bp"] = _("must be an integer from %(low)s to %(high)s", low=1, high=BP_WHOLE)
    if not -1000 <= data.priority <= 1000:
        errors["priority"] = _("must be an integer from %(low)s to %(high)s", low=-1000, high=1000)
    if not 1 <= data.budget_fen <= MAX_FEN:
        errors["budget_fen"] = _("must be more than 0")


def _check_bonus(data: CampaignIn, errors: dict[str, str]) -> None:
    if data.period not in PERIODS:
        errors["period"] = _("must be one of %(choices)s", choices=", ".join(PERIODS))
    tiers = sorted(data.tiers)
    if not tiers:
        errors["tiers"] = _("give at least one tier")
    elif len(tiers) > MAX_TIERS:
        errors["tiers"] = _("at most %(n)s", n=MAX_TIERS)
    elif any(not 1 <= t <= MAX_FEN or not 1 <= b <= MAX_FEN for t, b in tiers):
        errors["tiers"] = _("every threshold and bonus must be more than 0")
    elif len({t for t, _b in tiers}) != len(tiers):
        errors["tiers"] = _("two tiers have the same threshold")
    elif any(b2 <= b1 for (_t1, b1), (_t2, b2) in itertools.pairwise(tiers)):
        errors["tiers"] = _("a higher threshold must pay a higher bonus")


def validate(data: CampaignIn) -> None:
    """Raises ApiError (code "invalid", each bad field named)."""
    errors: dict[str, str] = {}
    _check_common(data, errors)
    if data.kind == CampaignKind.BOOST:
        _check_boost(data, errors)
    elif data.kind == CampaignKind.BONUS:
        _check_bonus(data, errors)
    if errors:
        raise ApiError(_("invalid campaign"), code="invalid", fields=errors)


def _apply(campaign: IncentiveCampaign, data: CampaignIn) -> None:
    campaign.name = data.name.strip()
    campaign.kind = data.kind
    campaign.starts_at = data.starts_at  # type: ignore[assignment]
    campaign.ends_at = data.ends_at  # type: ignore[assignment]
    if data.kind == CampaignKind.BOOST:
        campaign.scope = data.scope
        campaign.scope_ids = sorted(set(data.scope_ids)) if data.scope != "all" else []
        campaign.rate_mode = data.rate_mode
        campaign.rate_bp = data.rate_bp
        campaign.priority = data.priority
        campaign.budget_fen = data.budget_fen
    else:
        campaign.period = data.period
        if campaign.id is not None and campaign.tiers:
            # The old tiers go first: the new may reuse their thresholds (a unique key), and
            # the unit of work would insert the new before deleting the old.
            campaign.tiers.clear()
            db.session.flush()
        campaign.tiers = [BonusTier(threshold_fen=t, bonus_fen=b) for t, b in sorted(data.tiers)]


def create(data: CampaignIn) -> IncentiveCampaign:
    """Create a campaign (a draft, or active if `data.activate`); commits."""
    validate(data)
    campaign = IncentiveCampaign(
        status=CampaignStatus.ACTIVE if data.activate else CampaignStatus.DRAFT,
        scope_ids=[],
        spent_fen=0,
    )
    _apply(campaign, data)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def get(campaign_id: int) -> IncentiveCampaign:
    """Raises NotFound."""
    campaign = db.session.get(IncentiveCampaign, campaign_id)
    if campaign is None:
        raise NotFound(_("no such campaign"))
    return campaign


def update(campaign_id: int, data: CampaignIn) -> IncentiveCampaign:
    """Edit a campaign (see the module's rules); commits. Raises NotFound, ApiError
    ("invalid" naming the field, or "invalid_status" for an ended campaign)."""
    campaign = get(campaign_id)
    if campaign.kind != data.kind:
        raise ApiError(
            _("a campaign's kind cannot change"),
            code="invalid",
            fields={"kind": _("cannot change")},
        )
    validate(data)
    status = campaign.shown_status(utcnow())
    if status == CampaignStatus.ENDED:
        raise ApiError(_("an ended campaign cannot be edited"), code="invalid_status", status=409)
    if status == CampaignStatus.DRAFT:
        _apply(campaign, data)
        if data.activate:
            campaign.status = CampaignStatus.ACTIVE
        db.session.commit()
        return campaign
    if data.kind == CampaignKind.BOOST and data.budget_fen < campaign.spent_fen:
        raise ApiError(
            _("invalid campaign"),
            code="invalid",
            fields={"budget_fen": _("less than already spent")},
        )
    campaign.name = data.name.strip()
    campaign.ends_at = data.ends_at  # type: ignore[assignment]
    if data.kind == CampaignKind.BOOST:
        campaign.priority = data.priority
        campaign.budget_fen = data.budget_fen
    db.session.commit()
    return campaign


def stop(campaign_id: int, now: datetime | None = None) -> IncentiveCampaign:
    """Staff stop a campaign: a draft or an active one ends now; commits. Orders paid before
    keep their boost; a bonus campaign's window ends now (its bonuses are paid on the usual
    schedule). Raises NotFound, ApiError "invalid_status" (409) if it has ended."""
    now = now or utcnow()
    campaign = get(campaign_id)
    if campaign.shown_status(now) == CampaignStatus.ENDED:
        raise ApiError(_("the campaign has already ended"), code="invalid_status", status=409)
    campaign.status = CampaignStatus.ENDED
    campaign.stopped_at = now
    db.session.commit()
    return campaign


def listing(kind: str | None = None) -> list[IncentiveCampaign]:
    """Every campaign, newest first (a store runs tens, not thousands)."""
    statement = select(IncentiveCampaign).order_by(IncentiveCampaign.id.desc())
    if kind in CampaignKind.ALL:
        statement = statement.where(IncentiveCampaign.kind == kind)
    return list(db.session.scalars(statement))


def in_force(now: datetime | None = None) -> list[IncentiveCampaign]:
    """Active campaigns whose window contains now, best first (priority, then id)."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(IncentiveCampaign).where(
            IncentiveCampaign.status == CampaignStatus.ACTIVE,
            IncentiveCampaign.starts_at <= now,
            IncentiveCampaign.ends_at > now,
        )
    ).all()
    return sorted(rows, key=lambda c: (-c.priority, c.id))


def as_data(campaign: IncentiveCampaign) -> dict[str, Any]:
    """The campaign's fields, for a form or an API answer."""
    return {
        "id": campaign.id,
        "name": campaign.name,
        "kind": campaign.kind,
        "status": campaign.shown_status(utcnow()),
        "starts_at": campaign.starts_at,
        "ends_at": campaign.effective_end,
        "scope": campaign.scope,
        "scope_ids": list(campaign.scope_ids or []),
        "rate_mode": campaign.rate_mode,
        "rate_bp": campaign.rate_bp,
        "priority": campaign.priority,
        "budget_fen": campaign.budget_fen,
        "spent_fen": campaign.spent_fen,
        "period": campaign.period,
        "tiers": [
            {"threshold_fen": t.threshold_fen, "bonus_fen": t.bonus_fen} for t in campaign.tiers
        ],
    }
