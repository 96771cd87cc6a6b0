"""Schemas of the sharing API: codes, posters, H5 links, scans and per-code figures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_serializer

from miniprogram_api.schemas import (
    Out,
    Paged,
    PageQuery,
    QueryId,
    Required,
    Strict,
    Text,
    shanghai_iso,
)
from wxdist.sharing.share_codes import CHANNEL_PATTERN


class ShareQuery(Strict):
    product_id: QueryId | None = Field(None, description="a product on shelf; none: invite")
    channel: Annotated[Text, StringConstraints(pattern=CHANNEL_PATTERN, max_length=16)] | None = (
        Field(None, description="where it is shared: group, moments, live, offline, ...")
    )
    coupon_template_id: QueryId | None = Field(
        None,
        description="a shareable coupon the code hands out: shoppers claim it with the "
        "code's scene (POST /coupons/{template_id}/claim {scene}) and the poster shows it",
    )


class ScanIn(Strict):
    scene: Required(32)


class ScanOut(BaseModel):
    known: bool
    distributor_id: int | None = None
    product_id: int | None = None
    channel: str = ""


class ShareLinkOut(BaseModel):
    scene: str
    url: str  # the H5 page with the scene (and product)
    qr_url: str  # GET it (with the bearer token) for a plain QR PNG of `url`


class ShareCodeOut(Out):
    scene: str
    product_id: int | None
    channel: str
    scans: int
    opens: int
    binds: int
    coupon_template_id: int | None
    claims: int = Field(description="coupons claimed through the code")
    coupon_orders: int = Field(0, description="orders paid with a coupon from the code")
    created_at: datetime

    @field_serializer("created_at")
    def _created(self, value: datetime) -> str | None:
        return shanghai_iso(value)


class ChannelTotalOut(BaseModel):
    channel: str
    codes: int
    scans: int
    opens: int
    binds: int


class ShareCodePage(Paged):
    items: list[ShareCodeOut]
    by_channel: list[ChannelTotalOut]


__all__ = [
    "ChannelTotalOut",
    "PageQuery",
    "ScanIn",
    "ScanOut",
    "ShareCodeOut",
    "ShareCodePage",
    "ShareLinkOut",
    "ShareQuery",
]
