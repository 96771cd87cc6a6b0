"""Activity orders: the shop's hook for a marketing activity (a flash sale, a group buy)
that sells one SKU at its own price, without the shop importing marketing.

An activity order is one SKU line priced by the one pipeline with the activity's
`pricing.ActivityPrice` (exclusive: no limited-time discount, no full reduction; a coupon
only if the activity allows; commission base 0 unless the activity pays commission). The
SKU's own stock is reserved as for any order, so an unpaid close or cancel returns it by
the usual path (`orders.end_unpaid_order`, which also sends `order_ending` for the
activity's receivers). `take` runs inside the order's transaction once the order and its
item are written, before the commit: there the activity takes its own stock and the
user's quota; a Conflict it raises rolls the whole order back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wxdist.accounts.auth import TokenClaims
from wxdist.shop import orders, quotes
from wxdist.shop.order_address import Address
from wxdist.shop.pricing import ActivityPrice


def place_activity_order(
    claims: TokenClaims,
    activity: ActivityPrice,
    quantity: int,
    address: Address | int,
    take: Callable[[dict[str, Any]], None],
    remark: str = "",
    coupon_id: int | None = None,
    expected_payable_fen: int | None = None,
) -> dict[str, Any]:
    """Place the order of `quantity` of the activity's SKU; returns it as
    `orders.create_order` does. Raises what create_order raises (`not_for_sale`,
    `out_of_stock` for the SKU's own stock, `coupon_unusable` — reason `not_stackable`
    when the activity allows no coupon —, `price_changed`, the address's conflicts), and
    what `take` raises; nothing is written then."""
    return orders.create_order(
        claims,
        [orders.LineRequest(activity.sku_id, quantity)],
        address,
        remark,
        coupon_id=coupon_id,
        expected_payable_fen=expected_payable_fen,
        activity=activity,
        on_written=take,
    )


def preview_activity_order(
    claims: TokenClaims,
    activity: ActivityPrice,
    quantity: int,
    coupon_id: int | None = None,
    address_id: int | None = None,
    region_code: str | None = None,
) -> quotes.Preview:
    """What `place_activity_order` would charge (shipped to `address_id` or
    `region_code`), every coupon the user holds checked against it (none usable unless
    the activity allows). Writes nothing; raises what `orders.preview_order` raises."""
    return orders.preview_order(
        claims,
        [orders.LineRequest(activity.sku_id, quantity)],
        coupon_id,
        address_id,
        region_code,
        activity=activity,
    )
