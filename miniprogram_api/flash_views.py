"""Flash sales (秒杀): the activities on now or coming, one activity's items, and placing
a flash-sale order (paid through POST /orders/<id>/pay like any order)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint

from miniprogram_api import schemas, serialize
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import (
    body,
    current_claims,
    current_user,
    login_required,
    token_required,
)
from miniprogram_api.ship_to import order_address, preview_region
from wxdist.marketing.flash_sales import reads, service
from wxdist.models.types import utcnow
from wxdist.shop.pricing import COUPON

bp = Blueprint("api_flash_sales", __name__)


@bp.get("/flash-sales")
@api_doc(response=schemas.FlashActivityList, tag="flash sales")
def list_activities():  # type: ignore[no-untyped-def]
    """Flash sales on now (`live`, first) or coming (`upcoming`), with their slots still
    open or to come and the seconds to the open slot's end or the next start."""
    found = reads.activities(utcnow())
    return schemas.FlashActivityList.model_validate(
        {"items": [asdict(view) for view in found]}
    ).model_dump(mode="json")


@bp.get("/flash-sales/<int:activity_id>")
@api_doc(response=schemas.FlashDetailOut, errors=(404,), tag="flash sales")
@login_required
def detail(activity_id: int):  # type: ignore[no-untyped-def]
    """One flash sale: its items with the activity price, the list price and the
    activity stock left, and how many units the shopper already holds of it."""
    view = reads.activity(activity_id, utcnow())
    out = {
        "activity": asdict(view),
        "items": [asdict(item) for item in reads.items(activity_id)],
        "bought": reads.bought(activity_id, current_user().id),
    }
    return schemas.FlashDetailOut.model_validate(out).model_dump(mode="json")


@bp.post("/flash-sales/orders")
@api_doc(
    body=schemas.FlashOrderIn,
    response=schemas.OrderOut,
    status=201,
    errors=(400, 403, 404, 409),
    tag="flash sales",
)
@token_required  # create_order checks the token against the user in its first query
def place():  # type: ignore[no-untyped-def]
    """Place a flash-sale order: the activity price, the SKU's stock and the activity's
    stock reserved, the shopper's per-activity limit counted. 409 `sold_out`,
    `flash_not_open`, `flash_order_limit`, `flash_limit_reached`, and what POST /orders
    answers (`coupon_unusable` when the activity allows no coupon)."""
    data = body(schemas.FlashOrderIn)
    placed = service.place_flash_order(
        current_claims(),
        data.flash_sku_id,
        data.quantity,
        order_address(data),
        data.remark,
        coupon_id=data.coupon_id,
        expected_payable_fen=data.expected_payable_fen,
    )
    return serialize.placed_order(placed), 201


@bp.post("/flash-sales/orders/preview")
@api_doc(
    body=schemas.FlashPreviewIn,
    response=schemas.FlashPreviewOut,
    errors=(400, 404, 409),
    tag="flash sales",
)
@token_required
def preview():  # type: ignore[no-untyped-def]
    """What the flash-sale order would pay now (the activity price, the coupon if the
    activity allows one, shipping to `address_id` or `region_code`), with every coupon the
    shopper holds marked usable or not. Writes nothing; refuses as placing would, from what
    it read (`sold_out`, `flash_not_open`, `flash_order_limit`)."""
    data = body(schemas.FlashPreviewIn)
    found = service.preview_flash_order(
        current_claims(), data.flash_sku_id, data.quantity, data.coupon_id, *preview_region(data)
    )
    priced = found.priced
    out = {
        "goods_fen": priced.goods_fen,
        "activity_fen": priced.off(service.KIND),
        "coupon_fen": priced.off(COUPON),
        "shipping_fen": priced.shipping_fen,
        "payable_fen": priced.payable_fen,
        "coupon_id": priced.coupon_id,
        "coupons": serialize.coupon_checks(found),
        "suggested_coupon_id": found.suggested.coupon.id if found.suggested else None,
    }
    return schemas.FlashPreviewOut.model_validate(out).model_dump(mode="json")
