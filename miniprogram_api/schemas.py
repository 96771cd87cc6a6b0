"""Request and response schemas of the mini-program API (allow-lists: unknown fields are
refused, so nothing can be mass-assigned). Money is integer fen in `*_fen` fields."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    field_serializer,
)

from wxdist.core.ids import MAX_ID
from wxdist.shop.orders import MAX_QUANTITY, SHANGHAI

Text = Annotated[str, StringConstraints(strip_whitespace=True)]

_QUERY_INT = re.compile(r"-?[0-9]{1,20}")


def _query_int(value: Any) -> Any:
    """A query string's decimal digits as an int; anything else ("1.0", "1_0", " 1", "true")
    is left as it is for strict validation to refuse."""
    if isinstance(value, str) and _QUERY_INT.fullmatch(value):
        return int(value)
    return value


def _integral_number(value: Any) -> Any:
    """A JSON number with no fraction (`3.0`) is the integer 3, as JSON Schema counts it;
    strings and booleans are left for strict validation to refuse."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# Query parameters arrive as text: only plain decimal digits count as a number.
QueryInt = Annotated[int, BeforeValidator(_query_int)]
# A body's integers: JSON numbers without a fraction, never a string or a boolean.
JsonInt = Annotated[int, BeforeValidator(_integral_number)]
Id = Annotated[int, Interval(ge=1, le=MAX_ID), BeforeValidator(_integral_number)]
QueryId = Annotated[int, Interval(ge=1, le=MAX_ID), BeforeValidator(_query_int)]


@functools.cache
def visible_pattern() -> str:
    """A regex matching one character that shows on its own: one outside the separators and
    whitespace (Z*, Cc), format characters (Cf: zero-width spaces and joiners, bidi marks)
    and combining marks (M*). Built once from unicodedata, so the server and the document
    agree (no such character lies above U+E01EF)."""
    parts: list[str] = []
    start: int | None = None
    for cp in range(0xE01F1):
        category = unicodedata.category(chr(cp))
        invisible = category[0] in "MZ" or category in ("Cc", "Cf")
        if invisible and start is None:
            start = cp
        elif not invisible and start is not None:
            end = cp - 1
            parts.append(chr(start) if start == end else f"{chr(start)}-{chr(end)}")
            start = None
    if start is not None:
        parts.append(f"{chr(start)}-{chr(0xE01F0)}")
    return f"[^{''.join(parts)}]"


@functools.cache
def _visible() -> re.Pattern[str]:
    return re.compile(visible_pattern())


NOT_BLANK = r"\S"  # documents what stripping then min_length=1 enforce


def _visible_name(value: str) -> str:
    """Refuse a name made only of invisible characters: whitespace, zero-width and other
    format or control characters, combining marks alone. Empty passes (min_length decides)."""
    if value and not _visible().search(value):
        raise ValueError("must contain a visible character, not only invisible ones or marks")
    return value


def _name_pattern(optional: bool) -> Callable[[dict[str, Any]], None]:
    def add(schema: dict[str, Any]) -> None:
        # blank: no name given (stripped to ""); else a visible character somewhere
        schema["pattern"] = rf"^\s*$|{visible_pattern()}" if optional else visible_pattern()

    return add


def Name(max_length: int, min_length: int = 1) -> Any:
    """A person's name: stripped, at most max_length characters, with a visible character
    (or blank, when min_length is 0)."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_visible_name),
        Field(json_schema_extra=_name_pattern(optional=min_length == 0)),
    ]


def Required(max_length: int) -> Any:
    """Text that must not be blank: stripped, 1..max_length characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        Field(json_schema_extra={"pattern": NOT_BLANK}),
    ]


class Strict(BaseModel):
    """A request schema: unknown fields are refused, and types are strict (a string or a
    boolean is never a number, a number never a string)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def shanghai_iso(value: datetime | None) -> str | None:
    """Stored naive UTC shown as Asia/Shanghai ISO 8601."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(SHANGHAI).isoformat(timespec="seconds")


# ---- requests -------------------------------------------------------------------------


class LoginIn(Strict):
    code: Required(128)
    scene: Annotated[Text, StringConstraints(max_length=32)] | None = None
    nickname: Annotated[Text, StringConstraints(max_length=64)] | None = None
    avatar_url: Annotated[Text, StringConstraints(max_length=512)] | None = None


class PageQuery(Strict):
    page: QueryInt = Field(1, ge=1, le=10_000)
    per_page: QueryInt = Field(20, ge=1, le=50)


class ProductQuery(PageQuery):
    category_id: QueryId | None = None


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
    sku_id: Id
    quantity: JsonInt = Field(ge=1, le=MAX_QUANTITY)


class AddressIn(Strict):
    name: Name(64)
    phone: Annotated[Text, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$")]
    region: Required(128)
    detail: Required(255)


class OrderIn(Strict):
    items: list[OrderLineIn] = Field(
        min_length=1,
        max_length=50,
        description=f"lines of one sku_id count together: more than {MAX_QUANTITY} of one SKU "
        "in all is a 409 `too_many`; a SKU not on sale is a 409 `not_for_sale`",
    )
    address: AddressIn
    remark: Annotated[Text, StringConstraints(max_length=255)] = ""


class PayIn(Strict):
    channel: Literal["wechat", "alipay"]


class BindIn(Strict):
    scene: Required(32)


class ApplicationIn(Strict):
    real_name: Name(32)
    phone: Annotated[Text, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$")]
    reason: Annotated[Text, StringConstraints(max_length=255)] = ""


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


class TeamQuery(PageQuery):
    depth: QueryInt = Field(1, ge=1, le=2)


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


class CategoryList(Out):
    items: list[CategoryOut]


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
