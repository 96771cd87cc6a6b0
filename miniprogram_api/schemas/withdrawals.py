"""Schemas of withdrawals: the account details per method, the request (one schema per
method, told apart by `method`), the withdrawal shown and its confirmation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, RootModel, StringConstraints, field_serializer

from miniprogram_api.schemas.base import (
    Name,
    Out,
    Paged,
    Required,
    Strict,
    Text,
    _integral_number,
    shanghai_iso,
)


class WechatAccountIn(Strict):
    real_name: Name(32, min_length=0) = ""  # for a real-name check (FORCE_CHECK), if given


class AlipayAccountIn(Strict):
    alipay_login: Required(100)
    real_name: Name(32)


class BankAccountIn(Strict):
    bank_name: Required(64)
    card_number: Annotated[
        Text, StringConstraints(max_length=40, pattern=r"^[0-9](?: *[0-9]){11,29}$")
    ] = Field(description="12 to 30 digits, spaces between them allowed")
    holder: Name(32)


Amount = Annotated[
    int,
    Field(
        ge=1,
        le=10**10,
        description="fen; within the programme's current minimum and maximum per request "
        "(the served document shows them)",
    ),
    BeforeValidator(_integral_number),
]


class WechatWithdrawalIn(Strict):
    amount_fen: Amount
    method: Literal["wechat"]
    account: WechatAccountIn = WechatAccountIn()


class AlipayWithdrawalIn(Strict):
    amount_fen: Amount
    method: Literal["alipay"]
    account: AlipayAccountIn


class BankWithdrawalIn(Strict):
    amount_fen: Amount
    method: Literal["bank"]
    account: BankAccountIn


class WithdrawalIn(
    RootModel[
        Annotated[
            WechatWithdrawalIn | AlipayWithdrawalIn | BankWithdrawalIn,
            Field(discriminator="method"),
        ]
    ]
):
    """A withdrawal request; `method` says which account fields are required."""


class MerchantTransferOut(Out):
    """What wx.requestMerchantTransfer needs to let the distributor confirm receipt."""

    mch_id: str
    app_id: str
    package: str


class WithdrawalOut(Out):
    id: int
    amount_fen: int
    fee_fen: int
    net_fen: int
    method: str
    account: str  # masked
    status: str
    failure_reason: str | None
    review_note: str
    created_at: datetime
    paid_at: datetime | None
    confirm: MerchantTransferOut | None = None  # only while waiting for confirmation

    @field_serializer("created_at", "paid_at")
    def _times(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class WithdrawalPage(Paged):
    items: list[WithdrawalOut]
