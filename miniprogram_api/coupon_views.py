"""Coupons: those a shopper may claim, claiming one, and the shopper's own."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from miniprogram_api import schemas
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import (
    body,
    current_claims,
    current_user,
    login_required,
    query,
    token_required,
)
from wxdist.marketing import coupons, templates
from wxdist.models import Coupon, CouponTemplate
from wxdist.sharing import coupon_shares

bp = Blueprint("api_coupons", __name__)


def coupon_out(coupon: Coupon | Any, template: CouponTemplate | Any) -> dict:
    """A coupon as CouponOut (a model or a row of it, with its template's)."""
    return schemas.CouponOut.model_validate(
        {
            "id": coupon.id,
            "template_id": template.id,
            "name": template.name,
            "status": coupons.status_now(coupon),
            "off_fen": template.off_fen,
            "pay_rate_bp": template.pay_rate_bp,
            "cap_fen": template.cap_fen,
            "threshold_fen": template.threshold_fen,
            "valid_from": coupon.valid_from,
            "valid_until": coupon.valid_until,
            "order_id": coupon.order_id,
        }
    ).model_dump(mode="json")


@bp.get("/coupons")
@api_doc(query=schemas.CouponQuery, response=schemas.CouponTemplateList, tag="coupons")
def claimable():  # type: ignore[no-untyped-def]
    """Coupons open to claim now (for one product with `product_id`)."""
    params = query(schemas.CouponQuery)
    found = templates.claimable(params.product_id)
    return schemas.CouponTemplateList.model_validate(
        {"items": [templates.template_facts(t) for t in found]}
    ).model_dump(mode="json")


@bp.post("/coupons/<int:template_id>/claim")
@api_doc(
    body=schemas.ClaimIn,
    response=schemas.CouponOut,
    status=201,
    errors=(400, 404, 409),
    tag="coupons",
)
@token_required  # claim checks the token against the user in its first query
def claim(template_id: int):  # type: ignore[no-untyped-def]
    """Claim one coupon; with `scene`, through the distributor's share code carrying it
    (binding the shopper to them). 409 codes: not_shareable, claim_closed, staff_only,
    share_only, new_users_only,
    limit_reached, daily_claim_limit, sold_out. A repeated `claim_key` answers the first claim's
    coupon."""
    data = body(schemas.ClaimIn)
    token = current_claims()
    if data.scene:
        claimed = coupon_shares.claim_through_share(
            token.user_id, template_id, data.scene, data.claim_key, claims=token
        ).claimed
    else:
        claimed = coupons.claim(token.user_id, template_id, claim_key=data.claim_key, claims=token)
    return coupon_out(claimed.coupon, claimed.template), 201


@bp.get("/me/coupons")
@api_doc(query=schemas.MyCouponQuery, response=schemas.CouponList, tag="coupons")
@login_required
def mine():  # type: ignore[no-untyped-def]
    """The shopper's coupons, newest first (an unused one past its validity is expired)."""
    params = query(schemas.MyCouponQuery)
    rows = coupons.held_by(current_user().id, params.status)
    return {"items": [coupon_out(coupon, template) for coupon, template in rows]}
