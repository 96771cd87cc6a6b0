"""The shopper's address book and the region picker's divisions."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _

from miniprogram_api import schemas, serialize
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import body, current_user, login_required, query
from wxdist.accounts import addresses, regions
from wxdist.core.errors import NotFound

bp = Blueprint("api_addresses", __name__)


@bp.get("/regions")
@api_doc(query=schemas.RegionQuery, response=schemas.RegionList, errors=(404,), tag="addresses")
def region_children():  # type: ignore[no-untyped-def]
    """The provinces, or the children of `parent` (GB/T 2260, revision 201904), for the
    region picker: a municipality's one city bears its name (北京市 › 北京市 › 东城区); a
    city without districts (东莞市) is a leaf."""
    params = query(schemas.RegionQuery)
    found = regions.children(params.parent)
    if found is None:
        raise NotFound(_("no such region"), fields={"parent": _("not found")})
    items = [{"code": d.code, "name": d.name, "leaf": regions.is_leaf(d.code)} for d in found]
    return schemas.RegionList.model_validate({"items": items}).model_dump(mode="json")


def _spec(data: schemas.BookAddressIn) -> addresses.AddressSpec:
    return addresses.AddressSpec(data.name, data.phone, data.region_code, data.detail)


@bp.get("/me/addresses")
@api_doc(response=schemas.BookAddressList, tag="addresses")
@login_required
def list_addresses():  # type: ignore[no-untyped-def]
    """The shopper's addresses, the default first."""
    return _book(current_user().id)


def _book(user_id: int) -> dict[str, object]:
    items = addresses.list_addresses(user_id)
    return {
        "items": [serialize.book_address(a) for a in items],
        "max_addresses": addresses.MAX_ADDRESSES,
    }


@bp.post("/me/addresses")
@api_doc(
    body=schemas.BookAddressIn,
    response=schemas.BookAddressOut,
    status=201,
    errors=(409,),
    tag="addresses",
)
@login_required
def create_address():  # type: ignore[no-untyped-def]
    """Add an address (409 `too_many_addresses` beyond 20); the first is the default."""
    data = body(schemas.BookAddressIn)
    made = addresses.create_address(current_user().id, _spec(data), data.is_default)
    return serialize.book_address(made), 201


@bp.put("/me/addresses/<int:address_id>")
@api_doc(
    body=schemas.BookAddressIn, response=schemas.BookAddressOut, errors=(409,), tag="addresses"
)
@login_required
def update_address(address_id: int):  # type: ignore[no-untyped-def]
    """Change an address; orders already placed keep their copy."""
    data = body(schemas.BookAddressIn)
    changed = addresses.update_address(current_user().id, address_id, _spec(data), data.is_default)
    return serialize.book_address(changed)


@bp.post("/me/addresses/<int:address_id>/default")
@api_doc(response=schemas.BookAddressOut, tag="addresses")
@login_required
def set_default(address_id: int):  # type: ignore[no-untyped-def]
    """Make the address the default (the old default stops being it)."""
    return serialize.book_address(addresses.set_default(current_user().id, address_id))


@bp.delete("/me/addresses/<int:address_id>")
@api_doc(response=schemas.BookAddressList, tag="addresses")
@login_required
def delete_address(address_id: int):  # type: ignore[no-untyped-def]
    """Remove an address; if it was the default, the newest one left becomes it. Answers
    the addresses left."""
    user_id = current_user().id
    addresses.delete_address(user_id, address_id)
    return _book(user_id)
