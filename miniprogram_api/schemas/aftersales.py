"""Schemas of after-sales: applying, the after-sale with its log and deadlines, shipping a
return back, evidence pictures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_serializer

from miniprogram_api.schemas.base import (
    Id,
    JsonInt,
    Out,
    Paged,
    PageQuery,
    PositiveFen,
    QueryId,
    Required,
    Strict,
    Text,
    shanghai_iso,
)
from wxdist.models import AfterSaleStatus
from wxdist.shop.aftersales.rules import MAX_EVIDENCE, REASONS

Kind = Literal["refund_only", "return_refund"]
Reason = Literal[
    "not_received",
    "damaged",
    "wrong_item",
    "missing_parts",
    "quality",
    "not_as_described",
    "changed_mind",
    "other",
]
Status = Literal[
    "applied",
    "agreed",
    "refused",
    "buyer_shipped",
    "received",
    "receipt_refused",
    "refunding",
    "refunded",
    "cancelled",
    "closed",
]
assert set(Reason.__args__) == set(REASONS)  # type: ignore[attr-defined]
assert set(Status.__args__) == set(AfterSaleStatus.ALL)  # type: ignore[attr-defined]


class AfterSaleIn(Strict):
    order_item_id: Id
    kind: Kind = Field(
        description="refund_only (仅退款), or return_refund (退货退款: only once the order "
        "shipped, else a 409 `not_shipped`)"
    )
    quantity: JsonInt = Field(
        ge=1, description="at most what the line has not had refunded (400 naming `quantity`)"
    )
    amount_fen: PositiveFen = Field(
        description="at most what the line can still refund, counting refunds in flight and "
        "the order's other open after-sales, and for part of the quantity its share of what "
        "the line paid (400 naming `amount_fen`)"
    )
    reason_code: Reason
    description: Annotated[Text, StringConstraints(max_length=500)] = ""
    evidence: list[Annotated[Text, StringConstraints(max_length=512)]] = Field(
        default_factory=list,
        max_length=MAX_EVIDENCE,
        description="URLs answered by POST /aftersales/pictures",
    )


class AfterSaleQuery(PageQuery):
    status: Status | None = None


class CancelIn(Strict):
    status: Status | None = Field(
        None,
        description="the status the shopper was shown: if the after-sale has moved since, "
        "nothing changes and the answer is a 409 `invalid_status`",
    )


class ShipBackIn(Strict):
    carrier: Required(64)
    tracking_no: Annotated[
        Text, StringConstraints(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    ]


class PictureQuery(Strict):
    order_item_id: QueryId = Field(description="the shopper's order line the picture is for")


class PictureOut(Out):
    url: str


class ReasonOut(Out):
    code: str
    label: str


class ReasonList(Out):
    items: list[ReasonOut]


class AfterSaleLogOut(Out):
    actor: str = Field(description="buyer, staff or system")
    from_status: str | None
    to_status: str
    note: str
    created_at: datetime

    @field_serializer("created_at")
    def _time(self, value: datetime) -> str | None:
        return shanghai_iso(value)


class AfterSaleOut(Out):
    id: int
    order_id: int
    order_item_id: int
    kind: str
    status: str
    quantity: int
    amount_fen: int
    refunded_fen: int
    reason_code: str
    reason: str
    description: str
    evidence: list[str]
    refuse_reason: str
    carrier: str | None
    tracking_no: str | None
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime | None = Field(
        description="when the current state times out: applied -> agreed by the system, "
        "agreed return -> closed when not shipped back"
    )
    closed_at: datetime | None
    log: list[AfterSaleLogOut] = Field(default_factory=list, description="detail only")

    @field_serializer("created_at", "updated_at", "deadline_at", "closed_at")
    def _times(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class AfterSalePage(Paged):
    items: list[AfterSaleOut]
