"""Schemas of the address book and the region picker (GB/T 2260 codes)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from miniprogram_api.schemas.base import Name, Out, Required, Strict, Text

RegionCode = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{5}$"),
    Field(
        description="a GB/T 2260 code (revision 201904) of a district, or of a city or "
        "region without districts (东莞 441900); an unknown one is a 409 `unknown_region`"
    ),
]
Phone = Annotated[Text, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$")]


class BookAddressIn(Strict):
    name: Name(64)
    phone: Phone
    region_code: RegionCode
    detail: Required(255)
    is_default: bool = Field(False, description="make it the default address")


class BookAddressOut(Out):
    id: int
    name: str
    phone: str
    region_code: str
    region: str = Field(description="the region's names, as an address reads")
    province_code: str
    city_code: str | None
    district_code: str | None
    detail: str
    is_default: bool


class BookAddressList(Out):
    items: list[BookAddressOut] = Field(description="the default first, then the newest")
    max_addresses: int


class RegionQuery(Strict):
    parent: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{5}$")] | None = Field(
        None, description="the children of this code; the provinces without it"
    )


class RegionOut(Out):
    code: str
    name: str
    leaf: bool = Field(description="has no children: an address may carry this code")


class RegionList(Out):
    items: list[RegionOut]
