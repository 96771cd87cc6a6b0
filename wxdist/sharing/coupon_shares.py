"""Distributor coupons: a shareable coupon template carried by a distributor's share code.

A shopper who claims the coupon through the code gets it as `share` (which audiences
"through a distributor's share" require), is bound to the distributor under the
programme's binding rules as a login through the code would bind them, and counts in the
code's funnel: scan → claim → bind → order (orders paid with a coupon from the code).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from wxdist.accounts.auth import TokenClaims
from wxdist.core.errors import Conflict
from wxdist.core.extensions import db
from wxdist.distribution.distributors import is_active_distributor
from wxdist.distribution.referrals import BindResult
from wxdist.marketing import coupons
from wxdist.models import Coupon, CouponStatus
from wxdist.sharing import arrival, share_codes


@dataclass(frozen=True)
class SharedClaim:
    claimed: coupons.Claimed
    referral: BindResult


def claim_through_share(
    user_id: int,
    template_id: int,
    scene: str,
    claim_key: str | None = None,
    claims: TokenClaims | None = None,
) -> SharedClaim:
    """Claim the coupon a share code carries, then bind through the code; commits both.
    Raises Conflict `not_shareable` (field `scene`) when the scene names no code carrying
    this template or its distributor is no longer active, and what `coupons.claim` raises;
    a refused binding does not refuse the coupon (the result says why)."""
    code = share_codes.find_by_scene(scene)
    if (
        code is None
        or code.coupon_template_id != template_id
        or not is_active_distributor(code.distributor_id)
    ):
        message = _("This share does not carry this coupon.")
        raise Conflict(message, code="not_shareable", fields={"scene": message})
    code_id = code.id
    claimed = coupons.claim(
        user_id,
        template_id,
        claim_key=claim_key,
        source=coupons.SHARE,
        share_code_id=code_id,
        distributor_id=code.distributor_id,
        on_issue=lambda: share_codes.count(code_id, "claims"),
        claims=claims,
    )
    return SharedClaim(claimed, arrival.bind_scene(user_id, scene, source="coupon"))


def coupon_orders(share_code_ids: list[int]) -> dict[int, int]:
    """Per share code, the coupons claimed through it that paid an order."""
    if not share_code_ids:
        return {}
    rows = db.session.execute(
        select(Coupon.share_code_id, func.count())
        .where(Coupon.share_code_id.in_(share_code_ids), Coupon.status == CouponStatus.USED)
        .group_by(Coupon.share_code_id)
    )
    return {code_id: int(n) for code_id, n in rows}
