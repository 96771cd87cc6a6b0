"""Marketing's part of the data export (`core.events.export_sections`): the person's
coupons. Coupons hold no personal data beyond the owner's id, so a deletion leaves them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from wxdist.accounts.export import iso
from wxdist.core.extensions import db
from wxdist.models import Coupon, CouponTemplate


def export(user_id: int) -> dict[str, Any]:
    rows = db.session.execute(
        select(Coupon, CouponTemplate.name)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.user_id == user_id)
        .order_by(Coupon.id)
    ).all()
    return {
        "coupons": [
            {
                "id": c.id,
                "name": name,
                "status": c.status,
                "source": c.source,
                "valid_from": iso(c.valid_from),
                "valid_until": iso(c.valid_until),
                "order_id": c.order_id,
                "discount_fen": c.discount_fen,
                "claimed_at": iso(c.claimed_at),
                "used_at": iso(c.used_at),
            }
            for c, name in rows
        ]
    }
