"""Where an order ships, as the order and cart endpoints read it from their bodies."""

from __future__ import annotations

from flask_babel import gettext as _

from miniprogram_api import schemas
from wxdist.core.errors import ApiError
from wxdist.shop import orders


def order_address(data: schemas.ShipToIn) -> orders.Address | int:
    """The inline address or the id of one of the shopper's (`address_id`). Raises
    ApiError naming `address` unless exactly one of the two is given."""
    given = data.address
    if (given is None) == (data.address_id is None):
        raise ApiError(
            _("the request has invalid fields"),
            code="invalid",
            fields={"address": _("give either address or address_id")},
        )
    if given is None:
        return data.address_id
    return orders.Address(given.name, given.phone, given.region, given.detail, given.region_code)


def preview_region(data: schemas.RegionChoiceIn) -> tuple[int | None, str | None]:
    """(address_id, region_code) a preview ships to. Raises ApiError naming `region_code`
    when both are given."""
    if data.address_id is not None and data.region_code is not None:
        raise ApiError(
            _("the request has invalid fields"),
            code="invalid",
            fields={"region_code": _("give address_id or region_code, not both")},
        )
    return data.address_id, data.region_code
