"""Referral binding: who brought whom, under the binding mode and scope of the settings.

A scene (from a mini-program code or a share link) names a distributor. Binding is
serialised on one lock row, so concurrent binds cannot close a cycle; the cycle check
itself is a look at the referrer's materialised path, and a buyer's commission chain is
two primary-key reads whatever the size of the forest.
"""

from __future__ import annotations

import string
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import String, func, literal, select, update
from sqlalchemy.exc import OperationalError

from wxdist.core.errors import ApiError, NotFound
from wxdist.core.events import referral_bound
from wxdist.core.extensions import db
from wxdist.core.ids import in_base
from wxdist.core.sql import insert_ignore, is_deadlock
from wxdist.distribution.settings import Settings, get_settings
from wxdist.models import (
    Distributor,
    DistributorStatus,
    Referral,
    ReferralBinding,
    ReferralLock,
    User,
)
from wxdist.models.types import utcnow

MAX_PATH = 760  # fits an index; about 90 levels of 7-digit ids
NEW_USER_WINDOW = timedelta(hours=24)
_B36 = string.digits + string.ascii_lowercase


def distributor_scene(user_id: int) -> str:
    """The plain scene naming a distributor: "r" + base-36 user id."""
    return "r" + in_base(user_id, _B36)


@dataclass(frozen=True)
class ResolvedScene:
    referrer_id: int
    share_code_id: int | None = None
    channel: str = ""


def referrer_in_scene(scene: str) -> int | None:
    """The distributor a plain scene ("r" + base 36) names, or None if it is not one."""
    scene = scene.strip()
    if len(scene) >= 2 and scene[0] == "r" and all(c in _B36 for c in scene[1:]):
        return int(scene[1:], 36)
    return None


@dataclass(frozen=True)
class BindResult:
    bound: bool
    reason: str  # bound | rebound | already_bound | ...
    referrer_id: int | None = None


def _is_active(referral: Referral | None, now: datetime) -> bool:
    return (
        referral is not None
        and referral.parent_id is not None
        and (referral.expires_at is None or referral.expires_at > now)
    )


def bind(user_id: int, resolved: ResolvedScene, scene: str, source: str) -> BindResult:
    """Bind `user_id` to the distributor `resolved` names (resolved from `scene` by
    `sharing.scenes`), if the settings allow; commits a binding, rolls back a refusal.

    Never raises for a refused binding: the result says why (`self`, `not_distributor`,
    `programme_off`, `already_bound`, `not_new_user`, `cycle`, `too_deep`).
    """
    settings = get_settings()
    if not settings.enabled:
        return BindResult(False, "programme_off")
    referrer_id = resolved.referrer_id
    if referrer_id == user_id:
        return BindResult(False, "self")
    referrer = db.session.get(Distributor, referrer_id)
    if referrer is None or referrer.status != DistributorStatus.APPROVED:
        return BindResult(False, "not_distributor")

    _take_binding_lock()
    result = _bind_locked(user_id, referrer_id, resolved, scene, source, settings)
    if result.bound:
        db.session.commit()
    else:
        db.session.rollback()
    return result


def _take_binding_lock() -> None:
    """Serialise every re-parenting: the read-check-write that follows sees every earlier
    bind. An UPDATE takes a row lock on MySQL and the write lock on SQLite.

    Only reads precede this, so when the lock row is missing (an emptied table) or MySQL
    picks this transaction as a deadlock victim while racing to recreate it, rolling back
    and trying again loses nothing.
    """
    bump = update(ReferralLock).where(ReferralLock.id == 1).values(version=ReferralLock.version + 1)
    for attempt in range(8):
        try:
            if db.session.execute(bump).rowcount == 1:
                return
            db.session.commit()  # drop the gap lock the missed UPDATE took
            insert_ignore(ReferralLock.__table__, id=1, version=0)
            db.session.commit()
        except OperationalError as exc:
            if not is_deadlock(exc):
                raise
            db.session.rollback()
            time.sleep(0.005 * (attempt + 1))
    if db.session.execute(bump).rowcount != 1:  # never bind unserialised
        raise RuntimeError("the referral lock row could not be taken")


def _referral_for_update(user_id: int) -> Referral | None:
    return db.session.scalar(
        select(Referral)
        .where(Referral.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _bind_locked(
    user_id: int,
    referrer_id: int,
    resolved: ResolvedScene,
    scene: str,
    source: str,
    settings: Settings,
) -> BindResult:
    now = utcnow()
    mine = _referral_for_update(user_id)
    active = _is_active(mine, now)
    if active and mine is not None and mine.parent_id == referrer_id:
        return BindResult(False, "already_bound", referrer_id)
    if active and settings.binding_mode != "last_touch":
        return BindResult(False, "already_bound", mine.parent_id if mine else None)
    if not active and settings.binding_mode == "permanent" and mine and mine.parent_id:
        return BindResult(False, "already_bound", mine.parent_id)  # permanent never lapses
    if (
        not active
        and settings.binding_scope == "new_users"
        and not _is_new_user(user_id, mine, now)
    ):
        return BindResult(False, "not_new_user")

    theirs = _referral_for_update(referrer_id)
    their_path = theirs.path if theirs is not None else "/"
    if f"/{user_id}/" in their_path:
        return BindResult(False, "cycle")
    new_prefix = f"{their_path}{referrer_id}/"
    if len(new_prefix) + len(str(user_id)) + 1 > MAX_PATH:
        return BindResult(False, "too_deep")

    previous = mine.parent_id if mine is not None else None
    if mine is None:
        mine = Referral(user_id=user_id, path="/", depth=0)
        db.session.add(mine)
    _reparent(mine, referrer_id, theirs, now, settings, moved=previous is not None)
    db.session.add(
        ReferralBinding(
            user_id=user_id,
            referrer_id=referrer_id,
            previous_referrer_id=previous,
            scene=scene[:32],
            share_code_id=resolved.share_code_id,
            channel=resolved.channel,
            source=source,
            created_at=now,
        )
    )
    db.session.execute(
        update(Distributor)
        .where(Distributor.user_id == referrer_id)
        .values(direct_invites=Distributor.direct_invites + 1)
    )
    referral_bound.send(
        __name__, user_id=user_id, referrer_id=referrer_id, share_code_id=resolved.share_code_id
    )
    return BindResult(True, "rebound" if previous else "bound", referrer_id)


def _reparent(
    mine: Referral,
    referrer_id: int | None,
    theirs: Referral | None,
    now: datetime,
    settings: Settings,
    moved: bool = True,
) -> None:
    """Under the binding lock: set the user's parent (None: make them a root), grandparent,
    path, depth and binding times, then carry their whole subtree along. The caller has
    checked for cycles and depth."""
    user_id = mine.user_id
    their_path = theirs.path if theirs is not None else "/"
    new_prefix = f"{their_path}{referrer_id}/" if referrer_id else "/"
    old_subtree = f"{mine.path}{user_id}/"
    new_subtree = f"{new_prefix}{user_id}/"
    new_depth = (theirs.depth + 1 if theirs is not None else 1) if referrer_id else 0
    depth_delta = new_depth - (mine.depth or 0)
    mine.parent_id = referrer_id
    mine.grandparent_id = (
        theirs.parent_id if referrer_id and theirs is not None and _is_active(theirs, now) else None
    )
    mine.path = new_prefix
    mine.depth = new_depth
    mine.bound_at = now if referrer_id else None
    mine.expires_at = (
        now + timedelta(days=settings.binding_valid_days)
        if referrer_id and settings.binding_mode == "valid_days"
        else None
    )
    db.session.flush()
    if moved or old_subtree != new_subtree:
        _move_subtree(user_id, referrer_id, old_subtree, new_subtree, depth_delta)


def set_referrer_by_staff(user_id: int, new_parent_id: int | None) -> Referral:
    """The merchant corrects who referred `user_id` (None: nobody); commits.

    Serialised with every bind on the binding lock; the user's whole team moves along with
    them (paths, depths, the children's grandparent). Commission already earned is not
    moved: orders keep the chain they were paid under. The new referrer must be an approved
    distributor (as for a bind) and counts the invitation.

    Raises NotFound (no such user) and ApiError naming `referrer_id` for a self-reference,
    a referrer inside the user's own team (a cycle), a referrer who is not an approved
    distributor, or a chain too deep to store.
    """
    if db.session.get(User, user_id) is None:
        raise NotFound(_("no such user"))
    if new_parent_id == user_id:
        raise ApiError(
            _("nobody refers themselves"),
            code="self",
            fields={"referrer_id": _("cannot be the user")},
        )
    if new_parent_id is not None:
        referrer = db.session.get(Distributor, new_parent_id)
        if referrer is None or referrer.status != DistributorStatus.APPROVED:
            raise ApiError(
                _("the referrer is not an approved distributor"),
                code="not_distributor",
                fields={"referrer_id": _("not an approved distributor")},
            )

    _take_binding_lock()
    now = utcnow()
    mine = _referral_for_update(user_id)
    previous = mine.parent_id if mine is not None else None
    if mine is not None and previous == new_parent_id:
        db.session.rollback()
        return mine
    theirs = _referral_for_update(new_parent_id) if new_parent_id is not None else None
    if new_parent_id is not None:
        their_path = theirs.path if theirs is not None else "/"
        if f"/{user_id}/" in their_path:
            db.session.rollback()
            raise ApiError(
                _("the referrer is in the user's own team: that would close a cycle"),
                code="cycle",
                fields={"referrer_id": _("is in this user's team (a cycle)")},
            )
        if len(f"{their_path}{new_parent_id}/{user_id}/") > MAX_PATH:
            db.session.rollback()
            raise ApiError(
                _("the chain would be too deep"),
                code="too_deep",
                fields={"referrer_id": _("too deep")},
            )
    if mine is None:
        mine = Referral(user_id=user_id, path="/", depth=0)
        db.session.add(mine)
    _reparent(mine, new_parent_id, theirs, now, get_settings())
    if new_parent_id is not None:
        db.session.add(
            ReferralBinding(
                user_id=user_id,
                referrer_id=new_parent_id,
                previous_referrer_id=previous,
                source="admin",
                created_at=now,
            )
        )
        db.session.execute(
            update(Distributor)
            .where(Distributor.user_id == new_parent_id)
            .values(direct_invites=Distributor.direct_invites + 1)
        )
        referral_bound.send(
            __name__, user_id=user_id, referrer_id=new_parent_id, share_code_id=None
        )
    db.session.commit()
    return mine


def _move_subtree(
    user_id: int, referrer_id: int | None, old_subtree: str, new_subtree: str, depth_delta: int
) -> None:
    """Re-root the user's descendants under the new path; children get a new grandparent."""
    db.session.execute(
        update(Referral).where(Referral.parent_id == user_id).values(grandparent_id=referrer_id)
    )
    if old_subtree == new_subtree:
        return
    db.session.execute(
        update(Referral)
        .where(Referral.path.startswith(old_subtree, autoescape=True))
        .values(
            path=literal(new_subtree, String) + func.substr(Referral.path, len(old_subtree) + 1),
            depth=Referral.depth + depth_delta,
        )
    )


def detach_team(user_id: int) -> int:
    """Inside the caller's transaction (no commit): take `user_id` out of the referral
    forest, for account deletion. Their direct team become roots (no referrer: under the
    `no_referrer` binding scope the next share they open may bind them afresh), each
    member's own team moves along with them (paths and depths re-rooted), the members'
    children lose their grandparent, and the user leaves their own referrer's team.
    Commission already earned stays where it is: orders keep the chain they were paid
    under. Returns how many direct members were detached.

    Serialised with every bind on the binding lock. Raises RuntimeError when the lock row
    is missing (the migration seeds it; taking it here must not commit).
    """
    bump = update(ReferralLock).where(ReferralLock.id == 1).values(version=ReferralLock.version + 1)
    if db.session.execute(bump).rowcount != 1:
        raise RuntimeError("the referral lock row is missing")
    mine = _referral_for_update(user_id)
    path, depth = (mine.path, mine.depth or 0) if mine is not None else ("/", 0)
    prefix = f"{path}{user_id}/"
    members = db.session.scalar(
        select(func.count()).select_from(Referral).where(Referral.parent_id == user_id)
    )
    db.session.execute(
        update(Referral)
        .where(Referral.parent_id == user_id)
        .values(parent_id=None, grandparent_id=None, bound_at=None, expires_at=None)
    )
    db.session.execute(
        update(Referral).where(Referral.grandparent_id == user_id).values(grandparent_id=None)
    )
    db.session.execute(
        update(Referral)
        .where(Referral.path.startswith(prefix, autoescape=True))
        .values(
            path=literal("/", String) + func.substr(Referral.path, len(prefix) + 1),
            depth=Referral.depth - (depth + 1),
        ),
        execution_options={"synchronize_session": False},
    )
    if mine is not None:
        mine.parent_id = mine.grandparent_id = None
        mine.path, mine.depth = "/", 0
        mine.bound_at = mine.expires_at = None
    db.session.flush()
    return members or 0


def _is_new_user(user_id: int, mine: Referral | None, now: datetime) -> bool:
    """New: registered in the last 24 hours, never bound, and nothing bought yet."""
    if mine is not None and mine.parent_id is not None:
        return False
    user = db.session.get(User, user_id)
    return (
        user is not None
        and user.created_at >= now - NEW_USER_WINDOW
        and user.paid_orders == 0
        and not db.session.scalar(
            select(func.count())
            .select_from(ReferralBinding)
            .where(ReferralBinding.user_id == user_id)
        )
    )


@dataclass(frozen=True)
class Chain:
    """The buyer's referrers at this moment: depth 1 and depth 2 (either may be None)."""

    parent_id: int | None
    grandparent_id: int | None


def chain_for(user_id: int, now: datetime | None = None) -> Chain:
    """Two primary-key reads; an expired binding (valid_days mode) breaks the chain there."""
    now = now or utcnow()
    mine = db.session.get(Referral, user_id)
    if not _is_active(mine, now):
        return Chain(None, None)
    assert mine is not None and mine.parent_id is not None
    theirs = db.session.get(Referral, mine.parent_id)
    return Chain(mine.parent_id, theirs.parent_id if _is_active(theirs, now) else None)
