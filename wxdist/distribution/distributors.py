"""Distributors: applications, review, disabling, levels and upgrades.

Who may become a distributor follows the settings: everyone (an application is approved at
once), after a cumulative paid spend (approved once the spend is reached, automatically
when an order pushes it over), or by application, reviewed automatically or by hand.
Levels never go down by themselves; a manual grant may set any level.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from wxdist.accounts import ledger
from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.events import distributor_approved, distributor_approving, send_required
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE
from wxdist.distribution.settings import get_settings
from wxdist.models import (
    Distributor,
    DistributorAccount,
    DistributorLevel,
    DistributorStatus,
    User,
)
from wxdist.models.types import utcnow


def is_active_distributor(user_id: int) -> bool:
    row = db.session.get(Distributor, user_id)
    return row is not None and row.status == DistributorStatus.APPROVED


def get_distributor(user_id: int) -> Distributor | None:
    return db.session.get(Distributor, user_id)


# The code of a second application, by the status the applicant already has.
_ALREADY = {
    DistributorStatus.APPROVED: "already_approved",
    DistributorStatus.DISABLED: "already_disabled",
    DistributorStatus.PENDING: "already_pending",
}


def apply(user_id: int, real_name: str, phone: str, reason: str = "") -> Distributor:
    """Apply to become a distributor; the settings decide at once or leave it pending.

    Raises Conflict if the programme is off, the user is already approved or disabled, or
    an application is pending; ApiError (field `spend`) when the spend rule is not met.
    """
    settings = get_settings()
    if not settings.enabled:
        raise Conflict(_("the distribution programme is closed"), code="programme_off")
    existing = db.session.get(Distributor, user_id)
    if existing is not None and existing.status in (
        DistributorStatus.APPROVED,
        DistributorStatus.DISABLED,
        DistributorStatus.PENDING,
    ):
        raise Conflict(
            _("you are already %(status)s", status=existing.status),
            code=_ALREADY[existing.status],
        )
    if settings.distributor_mode == "spend":
        user = db.session.get(User, user_id)
        spent = user.paid_spend_fen if user else 0
        if spent < settings.distributor_min_spend_fen:
            raise ApiError(
                _("not enough spend yet"),
                code="spend_required",
                fields={
                    "spend": _(
                        "%(fen)s fen more to spend", fen=settings.distributor_min_spend_fen - spent
                    )
                },
            )
    auto = (
        settings.distributor_mode in ("everyone", "spend") or settings.application_review == "auto"
    )
    now = utcnow()
    row = existing or Distributor(user_id=user_id)
    row.real_name, row.phone, row.reason = real_name, phone, reason
    row.applied_at = now
    row.review_note = ""
    row.status = DistributorStatus.APPROVED if auto else DistributorStatus.PENDING
    if auto:
        row.reviewed_at = row.approved_at = now
    if existing is None:
        db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # a double tap: the first application stands
        db.session.rollback()
        raise Conflict(_("an application is already in"), code="already_pending") from None
    if auto:
        _count_approval(user_id)
    db.session.commit()
    if auto:
        _approved(user_id)
    return row


def review(user_id: int, approve: bool, note: str = "") -> Distributor:
    """Approve or reject a pending application (the panel calls this). A rejection needs a
    reason. Raises NotFound, Conflict (not pending), ApiError (field `note`)."""
    row = db.session.get(Distributor, user_id)
    if row is None:
        raise NotFound(_("no such application"))
    if not approve and not note.strip():
        raise ApiError(
            _("a rejection needs a reason"), fields={"note": _("give the applicant a reason")}
        )
    now = utcnow()
    moved = db.session.execute(
        update(Distributor)
        .where(Distributor.user_id == user_id, Distributor.status == DistributorStatus.PENDING)
        .values(
            status=DistributorStatus.APPROVED if approve else DistributorStatus.REJECTED,
            review_note=note[:255],
            reviewed_at=now,
            approved_at=now if approve else None,
        )
    )
    if moved.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            _("the application is %(status)s, not pending", status=row.status),
            code="invalid_status",
        )
    if approve:
        _count_approval(user_id)
    db.session.commit()
    db.session.refresh(row)
    if approve:
        _approved(user_id)
    return row


def set_disabled(user_id: int, disabled: bool, note: str = "") -> Distributor:
    """Disable (earns nothing new, keeps the balance) or re-enable a distributor; a deleted
    account is never re-enabled (Conflict `invalid_status`)."""
    row = db.session.get(Distributor, user_id)
    if row is None:
        raise NotFound(_("no such distributor"))
    user = db.session.get(User, user_id)
    if not disabled and user is not None and user.deleted_at is not None:
        raise Conflict(_("the account was deleted"), code="invalid_status")
    source, target = (
        (DistributorStatus.APPROVED, DistributorStatus.DISABLED)
        if disabled
        else (DistributorStatus.DISABLED, DistributorStatus.APPROVED)
    )
    moved = db.session.execute(
        update(Distributor)
        .where(Distributor.user_id == user_id, Distributor.status == source)
        .values(status=target, review_note=note[:255] or row.review_note)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        raise Conflict(_("the distributor is %(status)s", status=row.status), code="invalid_status")
    db.session.commit()
    db.session.refresh(row)
    return row


def promote_by_spend(user_id: int) -> bool:
    """In "spend" mode, make the buyer a distributor once their paid spend reaches the
    threshold; commits. Returns True if this call made them one."""
    settings = get_settings()
    if not settings.enabled or settings.distributor_mode != "spend":
        return False
    user = db.session.get(User, user_id)
    if user is None or user.paid_spend_fen < settings.distributor_min_spend_fen:
        return False
    if db.session.get(Distributor, user_id) is not None:
        return False
    now = utcnow()
    db.session.add(
        Distributor(
            user_id=user_id,
            status=DistributorStatus.APPROVED,
            reason="cumulative spend reached",
            applied_at=now,
            reviewed_at=now,
            approved_at=now,
        )
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    _count_approval(user_id)
    db.session.commit()
    _approved(user_id)
    return True


def _count_approval(user_id: int) -> None:
    """In the approving transaction: open the distributor's account and count them on
    today's dashboard."""
    ledger.ensure_account(user_id)
    send_required(distributor_approving, __name__, user_id=user_id)


def _approved(user_id: int) -> None:
    """After the approval committed: receivers draw the new distributor's posters ahead."""
    distributor_approved.send(__name__, user_id=user_id)


# ---- levels ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelSpec:
    name: str
    rank: int
    level1_rate_bp: int
    level2_rate_bp: int
    min_settled_commission_fen: int = 0
    min_team_sales_fen: int = 0
    min_direct_invites: int = 0
    min_own_paid_orders: int = 0
    condition_mode: str = "any"


def _validate_level(spec: LevelSpec) -> None:
    errors: dict[str, str] = {}
    if not spec.name.strip():
        errors["name"] = _("required")
    for name in ("level1_rate_bp", "level2_rate_bp"):
        if not 0 <= getattr(spec, name) <= BP_WHOLE:
            errors[name] = _("0..10000 basis points")
    if spec.level1_rate_bp + spec.level2_rate_bp > BP_WHOLE:
        errors["level2_rate_bp"] = _("level 1 and level 2 rates together exceed 100 %")
    for name in (
        "min_settled_commission_fen",
        "min_team_sales_fen",
        "min_direct_invites",
        "min_own_paid_orders",
    ):
        if getattr(spec, name) < 0:
            errors[name] = _("must not be negative")
    if spec.condition_mode not in ("any", "all"):
        errors["condition_mode"] = _("any or all")
    if errors:
        raise ApiError(_("invalid level"), code="invalid", fields=errors)


def create_level(spec: LevelSpec) -> DistributorLevel:
    """Raises ApiError naming bad fields, Conflict if the rank is taken."""
    _validate_level(spec)
    level = DistributorLevel(**spec.__dict__)
    db.session.add(level)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _("a level has that rank"), code="rank_taken", fields={"rank": _("taken")}
        ) from None
    return level


def list_levels() -> list[DistributorLevel]:
    return list(db.session.scalars(select(DistributorLevel).order_by(DistributorLevel.rank)))


def grant_level(user_id: int, level_id: int | None) -> Distributor:
    """Set a distributor's level by hand (up or down). Raises NotFound."""
    row = db.session.get(Distributor, user_id)
    if row is None:
        raise NotFound(_("no such distributor"))
    if level_id is not None and db.session.get(DistributorLevel, level_id) is None:
        raise NotFound(_("no such level"), fields={"level_id": _("not found")})
    row.level_id = level_id
    db.session.commit()
    return row


def _meets(level: DistributorLevel, facts: dict[str, int]) -> bool:
    checks = [
        facts[name] >= threshold
        for name, threshold in (
            ("settled_commission", level.min_settled_commission_fen),
            ("team_sales", level.min_team_sales_fen),
            ("direct_invites", level.min_direct_invites),
            ("own_paid_orders", level.min_own_paid_orders),
        )
        if threshold > 0
    ]
    if not checks:
        return False  # a level with no conditions is granted by hand only
    return all(checks) if level.condition_mode == "all" else any(checks)


def check_upgrade(user_id: int) -> DistributorLevel | None:
    """Raise the distributor to the highest level whose conditions hold, never lower; commits.
    Returns the new level if it changed."""
    row = db.session.get(Distributor, user_id)
    if row is None or row.status != DistributorStatus.APPROVED:
        return None
    account = db.session.get(DistributorAccount, user_id)
    user = db.session.get(User, user_id)
    facts = {
        "settled_commission": account.lifetime_earned_fen if account else 0,
        "team_sales": row.team_sales_fen,
        "direct_invites": row.direct_invites,
        "own_paid_orders": user.paid_orders if user else 0,
    }
    current = db.session.get(DistributorLevel, row.level_id) if row.level_id else None
    best = current
    for level in list_levels():
        if (best is None or level.rank > best.rank) and _meets(level, facts):
            best = level
    if best is current:
        return None
    row.level_id = best.id if best else None
    db.session.commit()
    return best
