"""A shopper arrives through a scene: logs in with it, or binds with it later. The scene is
resolved here, its share code's `opens` counted, and the binding left to
`distribution.referrals` (whose `referral_bound` signal counts the code's `binds`)."""

from __future__ import annotations

from dataclasses import dataclass

from wxdist.accounts.auth import LoginResult, login_with_code
from wxdist.core.extensions import db
from wxdist.distribution import referrals
from wxdist.distribution.referrals import BindResult
from wxdist.distribution.settings import get_settings
from wxdist.sharing import share_codes
from wxdist.sharing.scenes import resolve_scene


@dataclass(frozen=True)
class Arrival:
    login: LoginResult
    referral: BindResult | None


def login(
    code: str, scene: str | None = None, nickname: str | None = None, avatar_url: str | None = None
) -> Arrival:
    """`accounts.auth.login_with_code`, then a binding through `scene` if one came. Raises
    what login raises (the binding never raises for a refusal: its result says why)."""
    result = login_with_code(code, scene, nickname, avatar_url)
    referral = bind_scene(result.user.id, scene, source="login") if scene else None
    return Arrival(result, referral)


def bind_scene(user_id: int, scene: str, source: str) -> BindResult:
    """Bind `user_id` to the distributor the scene names, if the settings allow; commits.

    Never raises for a refused binding: the result says why (`unknown_scene`, `self`,
    `not_distributor`, `programme_off`, `already_bound`, `not_new_user`, `cycle`,
    `too_deep`).
    """
    if not get_settings().enabled:
        return BindResult(False, "programme_off")
    resolved = resolve_scene(scene)
    if resolved is None:
        return BindResult(False, "unknown_scene")
    if resolved.share_code_id is not None:  # an "open" of the code: login or bind with it
        share_codes.count(resolved.share_code_id, "opens")
        db.session.commit()
    return referrals.bind(user_id, resolved, scene, source)
