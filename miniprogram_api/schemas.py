"""Request and response schemas of the mini-program API (allow-lists: unknown fields are
refused, so nothing can be mass-assigned). Money is integer fen in `*_fen` fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_serializer

from wxdist.orders import SHANGHAI

Text = Annotated[str, StringConstraints(strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def shanghai_iso(value: datetime | None) -> str | None:
    """Stored naive UTC shown as Asia/Shanghai ISO 8601."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(SHANGHAI).isoformat(timespec="seconds")


# ---- requests -------------------------------------------------------------------------


class LoginIn(Strict):
    code: Annotated[Text, StringConstraints(min_length=1, max_length=128)]
    scene: Annotated[Text, StringConstraints(max_length=32)] | None = None
    nickname: Annotated[Text, StringConstraints(max_length=64)] | None = None
    avatar_url: Annotated[Text, StringConstraints(max_length=512)] | None = None


class PageQuery(Strict):
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(20, ge=1, le=50)


class ProductQuery(PageQuery):
    category_id: int | None = Field(None, ge=1)


class OrderQuery(PageQuery):
    status: (
        Literal[
            "pending_payment",
            "paid",
            "shipped",
            "completed",
            "cancelled",
            "closed",
            "refunding",
            "refunded",
        ]
        | None
    ) = None


class OrderLineIn(Strict):
    sku_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=999)


class AddressIn(Strict):
    name: Annotated[Text, StringConstraints(min_length=1, max_length=64)]
    phone: Annotated[Text, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$")]
    region: Annotated[Text, StringConstraints(min_length=1, max_length=128)]
    detail: Annotated[Text, StringConstraints(min_length=1, max_length=255)]


class OrderIn(Strict):
    items: list[OrderLineIn] = Field(min_length=1, max_length=50)
    address: AddressIn
    remark: Annotated[Text, StringConstraints(max_length=255)] = ""


class PayIn(Strict):
    channel: Literal["wechat", "alipay"]


class BindIn(Strict):
    scene: Annotated[Text, StringConstraints(min_length=1, max_length=32)]


class ApplicationIn(Strict):
    real_name: Annotated[Text, StringConstraints(min_length=1, max_length=32)]
    phone: Annotated[Text, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$")]
    reason: Annotated[Text, StringConstraints(max_length=255)] = ""


class WithdrawalAccountIn(Strict):
    alipay_login: Annotated[Text, StringConstraints(max_length=100)] = ""
    real_name: Annotated[Text, StringConstraints(max_length=32)] = ""
    bank_name: Annotated[Text, StringConstraints(max_length=64)] = ""
    card_number: Annotated[Text, StringConstraints(max_length=40)] = ""
    holder: Annotated[Text, StringConstraints(max_length=32)] = ""


class WithdrawalIn(Strict):
    amount_fen: int = Field(ge=1, le=10**10)
    method: Literal["wechat", "alipay", "bank"]
    account: WithdrawalAccountIn = WithdrawalAccountIn()


class TeamQuery(PageQuery):
    depth: int = Field(1, ge=1, le=2)


class CommissionQuery(PageQuery):
    status: Literal["frozen", "settled", "cancelled"] | None = None


# ---- responses ------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserOut(Out):
    id: int
    nickname: str
    avatar_url: str
    created_at: datetime

    @field_serializer("created_at")
    def _created(self, value: datetime) -> str | None:
        return shanghai_iso(value)


class BindOut(Out):
    bound: bool
    reason: str
    referrer_id: int | None = None


class LoginOut(Out):
    token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    created: bool
    user: UserOut
    referral: BindOut | None = None


class CategoryOut(Out):
    id: int
    name: str


class SkuOut(Out):
    id: int
    name: str
    price_fen: int
    stock: int


class ProductSummaryOut(Out):
    id: int
    category_id: int | None
    title: str
    subtitle: str
    image_url: str
    min_price_fen: int
    max_price_fen: int
    in_stock: bool


class ProductOut(ProductSummaryOut):
    description: str
    images: list[str]
    skus: list[SkuOut]


class Paged(Out):
    page: int
    per_page: int
    total: int


class ProductPage(Paged):
    items: list[ProductSummaryOut]


class OrderItemOut(Out):
    id: int
    product_id: int
    sku_id: int
    title: str
    sku_name: str
    image_url: str
    price_fen: int
    quantity: int
    amount_fen: int
    refunded_fen: int


class AddressOut(Out):
    name: str
    phone: str
    region: str
    detail: str


class OrderOut(Out):
    id: int
    order_no: str
    status: str
    goods_fen: int
    shipping_fen: int
    discount_fen: int
    payable_fen: int
    paid_fen: int
    refunded_fen: int
    pay_channel: str | None
    address: AddressOut
    remark: str
    carrier: str | None
    tracking_no: str | None
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    items: list[OrderItemOut]

    @field_serializer("created_at", "expires_at", "paid_at", "shipped_at", "completed_at")
    def _times(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class OrderPage(Paged):
    items: list[OrderOut]


class WechatPayParams(Out):
    appId: str
    timeStamp: str
    nonceStr: str
    package: str
    signType: str
    paySign: str


class PayOut(Out):
    channel: Literal["wechat", "alipay"]
    out_trade_no: str
    wechat: WechatPayParams | None = None
    alipay_url: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(BaseModel):
    error: ErrorDetail


class LevelOut(Out):
    id: int
    name: str
    rank: int


class BalancesOut(Out):
    frozen_fen: int
    available_fen: int  # below 0: a debt that future earnings repay
    withdrawing_fen: int


class DistributorOut(Out):
    status: Literal["none", "pending", "approved", "rejected", "disabled"]
    review_note: str
    level: LevelOut | None
    balances: BalancesOut
    lifetime_earned_fen: int
    today_earned_fen: int
    today_orders: int
    month_earned_fen: int
    month_orders: int
    direct_invites: int
    team_size: int
    scene: str | None  # the scene to put in a share link or mini-program code


class TeamMemberOut(Out):
    user_id: int
    nickname: str
    avatar_url: str
    bound_at: datetime | None
    paid_orders: int
    contribution_fen: int  # commission this member's orders brought me, net of clawbacks

    @field_serializer("bound_at")
    def _bound(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class TeamPage(Paged):
    depth: int
    items: list[TeamMemberOut]


class CommissionOut(Out):
    id: int
    order_no: str
    buyer: str  # masked
    level: int
    base_fen: int
    rate_bp: int
    amount_fen: int
    clawed_fen: int
    net_fen: int
    status: str
    created_at: datetime
    settled_at: datetime | None

    @field_serializer("created_at", "settled_at")
    def _times(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class CommissionPage(Paged):
    items: list[CommissionOut]


class AttributedOrderOut(Out):
    order_no: str
    status: str
    buyer: str  # masked
    level: int
    paid_fen: int
    refunded_fen: int
    commission_fen: int  # mine, net of clawbacks
    paid_at: datetime | None

    @field_serializer("paid_at")
    def _paid(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class AttributedOrderPage(Paged):
    items: list[AttributedOrderOut]


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
