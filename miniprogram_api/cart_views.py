"""A shopper's cart: lines at today's prices, selection, and checkout of the selected."""

from __future__ import annotations

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
from wxdist.shop import cart

bp = Blueprint("api_cart", __name__)


@bp.get("/cart")
@api_doc(response=schemas.CartOut, tag="cart")
@login_required
def get_cart():  # type: ignore[no-untyped-def]
    """The cart, newest line first: each line at today's price with the limited-time
    discount in force, its stock and whether it is still on sale (a line gone off sale or
    short is flagged, never dropped); totals over the selected lines that can be bought,
    priced as an order is (discounts, full reductions), with the best coupon suggested."""
    return serialize.cart(cart.view(current_user().id))


@bp.post("/cart/lines")
@api_doc(body=schemas.CartLineIn, response=schemas.CartOut, errors=(409,), tag="cart")
@login_required
def add_line():  # type: ignore[no-untyped-def]
    """Add a SKU (to its line if the cart has one); answers the cart."""
    data = body(schemas.CartLineIn)
    user_id = current_user().id
    cart.add(user_id, data.sku_id, data.quantity)
    return serialize.cart(cart.view(user_id))


@bp.patch("/cart/lines/<int:line_id>")
@api_doc(body=schemas.CartLinePatch, response=schemas.CartOut, errors=(404, 409), tag="cart")
@login_required
def change_line(line_id: int):  # type: ignore[no-untyped-def]
    """Change a line's quantity or selection; answers the cart."""
    data = body(schemas.CartLinePatch)
    user_id = current_user().id
    cart.change(user_id, line_id, data.quantity, data.selected)
    return serialize.cart(cart.view(user_id))


@bp.delete("/cart/lines/<int:line_id>")
@api_doc(response=schemas.CartOut, errors=(404,), tag="cart")
@login_required
def remove_line(line_id: int):  # type: ignore[no-untyped-def]
    """Take a line out of the cart; answers the cart."""
    user_id = current_user().id
    cart.remove(user_id, line_id)
    return serialize.cart(cart.view(user_id))


@bp.post("/cart/select")
@api_doc(body=schemas.CartSelectIn, response=schemas.CartOut, tag="cart")
@login_required
def select_all():  # type: ignore[no-untyped-def]
    """Select or unselect every line; answers the cart."""
    data = body(schemas.CartSelectIn)
    user_id = current_user().id
    cart.select_all(user_id, data.selected)
    return serialize.cart(cart.view(user_id))


@bp.post("/cart/checkout/preview")
@api_doc(body=schemas.CartPreviewIn, response=schemas.PreviewOut, errors=(404, 409), tag="cart")
@token_required  # the cart's first query checks the token against the user
def checkout_preview():  # type: ignore[no-untyped-def]
    """What checking out the selected lines would pay, priced as /orders/preview prices
    (every held coupon checked, the best suggested). A selected line off sale or short is
    a 409 `cart_unavailable` naming each. Writes nothing."""
    data = body(schemas.CartPreviewIn)
    return serialize.preview(cart.preview(current_claims(), data.coupon_id, *preview_region(data)))


@bp.post("/cart/checkout")
@api_doc(
    body=schemas.CartCheckoutIn,
    response=schemas.OrderOut,
    status=201,
    errors=(403, 404, 409),
    tag="cart",
)
@token_required  # the cart's first query checks the token against the user
def checkout():  # type: ignore[no-untyped-def]
    """Place an order for the selected lines, as POST /orders places one; they leave the
    cart with it. A selected line off sale or short is a 409 `cart_unavailable` naming each
    (`lines.<id>.sku_id` / `lines.<id>.quantity`); nothing is written on any refusal."""
    data = body(schemas.CartCheckoutIn)
    placed = cart.checkout(
        current_claims(),
        order_address(data),
        data.remark,
        coupon_id=data.coupon_id,
        expected_payable_fen=data.expected_payable_fen,
    )
    return serialize.placed_order(placed), 201
