"""Models, split by domain. Importing this package registers every table (the Alembic
registry).

May import: `core` (the `db` extension). Nothing above it.
"""

from wxdist.models.address import Address
from wxdist.models.aftersale import AfterSale, AfterSaleKind, AfterSaleLog, AfterSaleStatus
from wxdist.models.cart import CartLine
from wxdist.models.catalog import (
    Category,
    Product,
    ProductImage,
    ProductTerm,
    Sku,
    StockSettings,
)
from wxdist.models.commission import (
    AttributionFailure,
    Commission,
    CommissionStatus,
    DistributorAccount,
    LedgerBucket,
    LedgerEntry,
)
from wxdist.models.customer import (
    BulkCouponIssue,
    CustomerNote,
    CustomerStat,
    CustomerTag,
    UserTag,
)
from wxdist.models.distribution import (
    DistributionSettings,
    Distributor,
    DistributorLevel,
    DistributorStatus,
)
from wxdist.models.flash_sale import (
    CommissionMode,
    FlashActivity,
    FlashOrder,
    FlashQuota,
    FlashSku,
    FlashSlot,
)
from wxdist.models.fulfilment import (
    DeliveryCompany,
    Shipment,
    ShipmentItem,
    ShipmentKind,
    ShippingSync,
    SyncState,
    TrackingEvent,
)
from wxdist.models.group_buy import (
    GroupActivity,
    GroupBuy,
    GroupMember,
    GroupSku,
    GroupStatus,
    MemberStatus,
)
from wxdist.models.incentive import (
    BonusTier,
    CampaignKind,
    CampaignStatus,
    IncentiveBonus,
    IncentiveCampaign,
)
from wxdist.models.marketing import (
    Coupon,
    CouponAudience,
    CouponStatus,
    CouponTemplate,
    FullReductionRecord,
    OfferStatus,
    OrderAdjustment,
    RefundPolicy,
    TimedDiscountRecord,
)
from wxdist.models.material import Material
from wxdist.models.notification import (
    MessageLog,
    MessageStatus,
    NoticeSwitch,
    SubscribeConsent,
    WechatPushEvent,
)
from wxdist.models.open_api import ApiKey, ApiNonce, ApiRequest
from wxdist.models.order import (
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from wxdist.models.recommendation import DistributorRecommendation, RecommendationReason
from wxdist.models.referral import Referral, ReferralBinding, ReferralLock
from wxdist.models.report import (
    ReportChannelDaily,
    ReportDaily,
    ReportMonthly,
    ReportOrder,
    ReportProductDaily,
    ReportProductMonthly,
    ReportShareCode,
)
from wxdist.models.share import PosterTemplateRecord, ShareCode
from wxdist.models.shipping import ShippingTemplate
from wxdist.models.staff import AuditEntry, StaffRole, StaffUser
from wxdist.models.stats import DailyStat
from wxdist.models.user import User
from wxdist.models.webhook import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSecret,
)
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus

__all__ = [
    "Address",
    "AfterSale",
    "AfterSaleKind",
    "AfterSaleLog",
    "AfterSaleStatus",
    "ApiKey",
    "ApiNonce",
    "ApiRequest",
    "AttributionFailure",
    "AuditEntry",
    "BonusTier",
    "BulkCouponIssue",
    "CampaignKind",
    "CampaignStatus",
    "CartLine",
    "Category",
    "Commission",
    "CommissionMode",
    "CommissionStatus",
    "Coupon",
    "CouponAudience",
    "CouponStatus",
    "CouponTemplate",
    "CustomerNote",
    "CustomerStat",
    "CustomerTag",
    "DailyStat",
    "DeliveryCompany",
    "DeliveryState",
    "DistributionSettings",
    "Distributor",
    "DistributorAccount",
    "DistributorLevel",
    "DistributorRecommendation",
    "DistributorStatus",
    "FlashActivity",
    "FlashOrder",
    "FlashQuota",
    "FlashSku",
    "FlashSlot",
    "FullReductionRecord",
    "GroupActivity",
    "GroupBuy",
    "GroupMember",
    "GroupSku",
    "GroupStatus",
    "IncentiveBonus",
    "IncentiveCampaign",
    "LedgerBucket",
    "LedgerEntry",
    "Material",
    "MemberStatus",
    "MessageLog",
    "MessageStatus",
    "NoticeSwitch",
    "OfferStatus",
    "Order",
    "OrderAdjustment",
    "OrderItem",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "PosterTemplateRecord",
    "Product",
    "ProductImage",
    "ProductTerm",
    "RecommendationReason",
    "Referral",
    "ReferralBinding",
    "ReferralLock",
    "Refund",
    "RefundPolicy",
    "RefundStatus",
    "ReportChannelDaily",
    "ReportDaily",
    "ReportMonthly",
    "ReportOrder",
    "ReportProductDaily",
    "ReportProductMonthly",
    "ReportShareCode",
    "ShareCode",
    "Shipment",
    "ShipmentItem",
    "ShipmentKind",
    "ShippingSync",
    "ShippingTemplate",
    "Sku",
    "StaffRole",
    "StaffUser",
    "StockSettings",
    "SubscribeConsent",
    "SyncState",
    "TimedDiscountRecord",
    "TrackingEvent",
    "User",
    "UserTag",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookSecret",
    "WechatPushEvent",
    "Withdrawal",
    "WithdrawalStatus",
]
