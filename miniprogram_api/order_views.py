"""A shopper's orders: place, list, read, pay, cancel, confirm receipt, tracking."""

from __future__ import annotations

from flask import Blueprint

from miniprogram_api import schemas, serialize
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import (
    body,
    client_ip,
    current_claims,
    current_user,
    login_required,
    query,
    token_required,
)
from miniprogram_api.ship_to import order_address, preview_region
from wxdist.shop import orders, payment_flow, tracking

bp = Blueprint("api_orders", __name__)


@bp.post("/orders")
@api_doc(
    body=schemas.OrderIn,
    response=schemas.OrderOut,
    status=201,
    errors=(400, 403, 404, 409),
    tag="orders",
)
@token_required  # create_order checks the token against the user in its first query
def create():  # type: ignore[no-untyped-def]
    """Place an order; its stock is reserved until it is paid, cancelled or closed. The
    address is `address_id` (one of the shopper's, copied to the order) or `address`;
    shipping is charged by the products' templates for its region."""
    data = body(schemas.OrderIn)
    placed = orders.create_order(
        current_claims(),
        [orders.LineRequest(line.sku_id, line.quantity) for line in data.items],
        order_address(data),
        data.remark,
        coupon_id=data.coupon_id,
        expected_payable_fen=data.expected_payable_fen,
    )
    return serialize.placed_order(placed), 201


@bp.post("/orders/preview")
@api_doc(body=schemas.PreviewIn, response=schemas.PreviewOut, errors=(400, 404, 409), tag="orders")
@token_required
def preview():  # type: ignore[no-untyped-def]
    """What the order would pay, priced as placing it prices it (limited-time discounts,
    full reductions, the coupon, then shipping to `address_id` or `region_code`), with
    every coupon the shopper holds marked usable or not and the best one suggested. Writes
    nothing."""
    data = body(schemas.PreviewIn)
    found = orders.preview_order(
        current_claims(),
        [orders.LineRequest(line.sku_id, line.quantity) for line in data.items],
        data.coupon_id,
        *preview_region(data),
    )
    return serialize.preview(found)


@bp.get("/orders")
@api_doc(query=schemas.OrderQuery, response=schemas.OrderPage, tag="orders")
@login_required
def list_orders():  # type: ignore[no-untyped-def]
    """The shopper's own orders, newest first."""
    params = query(schemas.OrderQuery)
    items, total = orders.list_user_orders(
        current_user().id, params.status, params.page, params.per_page
    )
    return {
        "page": params.page,
        "per_page": params.per_page,
        "total": total,
        "items": [serialize.order(o) for o in items],
    }


@bp.get("/orders/<int:order_id>")
@api_doc(response=schemas.OrderOut, errors=(404,), tag="orders")
@login_required
def get(order_id: int):  # type: ignore[no-untyped-def]
    """One of the shopper's own orders."""
    return serialize.order(orders.get_user_order(current_user().id, order_id))


@bp.post("/orders/<int:order_id>/pay")
@api_doc(body=schemas.PayIn, response=schemas.PayOut, errors=(400, 404, 409, 502), tag="orders")
@login_required
def pay(order_id: int):  # type: ignore[no-untyped-def]
    """Start paying: WeChat answers wx.requestPayment parameters, Alipay a cashier URL."""
    data = body(schemas.PayIn)
    user = current_user()
    order = orders.get_user_order(user.id, order_id)
    started = payment_flow.start_payment(user, order, data.channel, client_ip())
    out = schemas.PayOut(
        channel=started.channel,  # type: ignore[arg-type]
        out_trade_no=started.out_trade_no,
        wechat=schemas.WechatPayParams(**started.wechat_params) if started.wechat_params else None,
        alipay_url=started.alipay_url,
    )
    return out.model_dump(mode="json")


@bp.post("/orders/<int:order_id>/cancel")
@api_doc(response=schemas.OrderOut, errors=(404, 409, 502), tag="orders")
@login_required
def cancel(order_id: int):  # type: ignore[no-untyped-def]
    """Cancel an unpaid order and release its stock."""
    return serialize.order(payment_flow.cancel_by_user(current_user(), order_id))


@bp.post("/orders/<int:order_id>/confirm-receipt")
@api_doc(response=schemas.OrderOut, errors=(404, 409), tag="orders")
@login_required
def confirm_receipt(order_id: int):  # type: ignore[no-untyped-def]
    """Confirm a shipped order arrived; it completes."""
    return serialize.order(orders.confirm_receipt(current_user().id, order_id))


@bp.get("/orders/<int:order_id>/tracking")
@api_doc(response=schemas.TrackingOut, errors=(404,), tag="orders")
@login_required
def order_tracking(order_id: int):  # type: ignore[no-untyped-def]
    """The order's packages, each with its carrier, items and tracking steps (newest first)."""
    order = orders.get_user_order(current_user().id, order_id)
    out = schemas.TrackingOut(
        order_id=order.id, status=order.status, shipments=tracking.order_tracking(order.id)
    )
    return out.model_dump(mode="json")
