"""What staff read for the codes the house stores: statuses, roles, channels.

Codes stay English in the database, the API and URLs; the panel shows `{{ code|label }}`,
which is the code's name in the reader's language (the code itself if it has none yet).
Payment channels and payout methods are named by their registries (`shop.channels`,
`money.rails`), not here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from wxdist.money import rails
from wxdist.shop import channels

LABELS: dict[str, LazyString] = {
    # orders
    "pending_payment": _l("awaiting payment"),
    "paid": _l("paid"),
    "shipped": _l("shipped"),
    "completed": _l("completed"),
    "cancelled": _l("cancelled"),
    "closed": _l("closed"),
    "refunding": _l("refunding"),
    "refunded": _l("refunded"),
    # after-sales (refunding, refunded, cancelled and closed are the orders')
    "applied": _l("applied"),
    "agreed": _l("agreed"),
    "refused": _l("refused"),
    "buyer_shipped": _l("shipped back"),
    "received": _l("return received"),
    "receipt_refused": _l("receipt refused"),
    "refund_only": _l("refund only"),
    "return_refund": _l("return and refund"),
    "buyer": _l("buyer"),
    "staff": _l("staff"),
    "system": _l("system"),
    # payments and refunds
    "open": _l("open"),
    "processing": _l("processing"),
    "succeeded": _l("succeeded"),
    "failed": _l("failed"),
    # group buys (open, succeeded, failed and pending are above)
    "dropped": _l("dropped (the leader did not pay)"),
    # distributors
    "pending": _l("pending"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "disabled": _l("disabled"),
    "active": _l("active"),
    # commission
    "frozen": _l("frozen"),
    "settled": _l("settled"),
    # withdrawals
    "pending_review": _l("awaiting review"),
    "paying": _l("paying"),
    "waiting_confirm": _l("waiting for the distributor to confirm"),
    # shipments and their WeChat shipping information upload
    "express": _l("express"),
    "virtual": _l("virtual goods"),
    "pickup": _l("pickup"),
    "uploaded": _l("uploaded"),
    # staff roles
    "owner": _l("owner"),
    "operator": _l("operator"),
    "finance": _l("finance"),
}


def registered_label(code: str) -> LazyString | None:
    """The name of a payment channel or payout method from its registry (the channel's
    first: a WeChat payment and a WeChat withdrawal share the code), or None."""
    channel = channels.find(code)
    if channel is not None:
        return channel.label
    try:
        return rails.label(code)
    except rails.UnknownRail:
        return None


def method_label(method: str | None) -> str:
    """A withdrawal method as people call it (微信零钱, not the payment channel's 微信支付,
    though both are stored as `wechat`); falls back to `label`."""
    try:
        return str(rails.label(method or ""))
    except rails.UnknownRail:
        return label(method)


def labelled(code: str) -> bool:
    """Whether the panel shows `code` through a label (a stored code, not free text)."""
    return code in LABELS or registered_label(code) is not None


def label(code: str | None) -> str:
    """The reader's name for `code` ('' for None; the code itself when it has no label)."""
    if code is None:
        return ""
    found = LABELS.get(str(code))
    if found is None:
        found = registered_label(str(code))
    return str(found) if found is not None else str(code)


# ---- Codes of the money, commission, staff and audit pages ---------------------------
# Each table names the codes one column stores; they join LABELS below, so `|label` and
# `label()` find them. A code already in LABELS keeps its label there (one code, one word).

LEDGER_BUCKETS: dict[str, LazyString] = {
    "frozen": _l("frozen"),
    "available": _l("available"),
    "withdrawing": _l("withdrawing"),
}

LEDGER_KINDS: dict[str, LazyString] = {
    "commission": _l("commission earned"),
    "clawback": _l("clawback"),
    "settle": _l("settlement"),
    "withdraw": _l("withdrawal requested"),
    "withdraw_retry": _l("payout retried"),
    "withdraw_paid": _l("paid out"),
    "withdraw_failed": _l("payout failed, money returned"),
    "withdraw_cancelled": _l("withdrawal cancelled, money returned"),
    "withdraw_rejected": _l("withdrawal rejected, money returned"),
    "bonus": _l("sales bonus"),
}

COMMISSION_RATE_SOURCES: dict[str, LazyString] = {
    "product": _l("product"),
    "level": _l("level"),
    "default": _l("default"),
    "campaign": _l("incentive campaign"),
}

AUDIT_ACTIONS: dict[str, LazyString] = {
    "distributor.review": _l("review distributor application"),
    "distributor.level": _l("set distributor level"),
    "distributor.disable": _l("disable distributor"),
    "distributor.enable": _l("enable distributor"),
    "distributor.referrer": _l("change distributor's referrer"),
    "order.ship": _l("ship order"),
    "order.shipping_retry": _l("retry shipping information upload"),
    "order.refund": _l("refund order"),
    "product.create": _l("create product"),
    "product.update": _l("edit product"),
    "product.shelf": _l("put product on or off shelf"),
    "product.picture_add": _l("add product picture"),
    "product.picture_move": _l("reorder product pictures"),
    "product.picture_delete": _l("delete product picture"),
    "sku.create": _l("add SKU"),
    "sku.update": _l("edit SKU"),
    "sku.stock": _l("adjust SKU stock"),
    "settings.update": _l("change settings"),
    "staff.create": _l("add staff account"),
    "staff.role": _l("change staff role"),
    "staff.enable": _l("enable staff account"),
    "staff.disable": _l("disable staff account"),
    "staff.password": _l("set staff password"),
    "withdrawal.approve": _l("approve withdrawal"),
    "withdrawal.reject": _l("reject withdrawal"),
    "withdrawal.retry": _l("retry payout"),
    "withdrawal.bank_paid": _l("mark bank transfer paid"),
    "withdrawal.bank_failed": _l("mark bank transfer failed"),
    "coupon_template.create": _l("create coupon"),
    "coupon_template.pause": _l("pause coupon"),
    "coupon_template.resume": _l("resume coupon"),
    "coupon_template.end": _l("end coupon"),
    "coupon_template.issue": _l("issue coupons to users"),
    "coupon.return_after_refund": _l("coupon returned after a refund"),
    "coupon.reissue_after_refund": _l("coupon reissued after a refund"),
    "coupon.keep_after_refund": _l("coupon kept after a refund"),
    "timed_discount.create": _l("create limited-time discount"),
    "flash_sale.create": _l("create flash sale"),
    "flash_sale.update": _l("edit flash sale"),
    "group_buy.create": _l("create group buy"),
    "group_buy.update": _l("edit group buy"),
    "timed_discount.end": _l("end limited-time discount"),
    "full_reduction.create": _l("create full reduction"),
    "full_reduction.end": _l("end full reduction"),
    "shipping_template.create": _l("create shipping template"),
    "webhook.create": _l("add webhook endpoint"),
    "webhook.update": _l("change webhook endpoint"),
    "webhook.enable": _l("turn webhook endpoint on"),
    "webhook.disable": _l("turn webhook endpoint off"),
    "webhook.rotate": _l("new webhook secret"),
    "webhook.replay": _l("send webhook again"),
    "api_key.create": _l("make API key"),
    "api_key.revoke": _l("revoke API key"),
    "shipping_template.update": _l("change shipping template"),
    "stock_settings.update": _l("change stock alert settings"),
    "staff.stock_alerts": _l("set stock alerts of a staff member"),
    "notices.switch": _l("switch notices on or off"),
    "aftersale.agree": _l("agree to after-sale"),
    "aftersale.refuse": _l("refuse after-sale"),
    "aftersale.receive": _l("receive returned goods"),
    "aftersale.refuse_receipt": _l("refuse returned goods"),
    "aftersale.refund": _l("refund after-sale"),
    "material.create": _l("create material"),
    "material.update": _l("edit material"),
    "material.publish": _l("publish or withdraw material"),
    "material.delete": _l("delete material"),
    "material.picture_add": _l("add material picture"),
    "material.picture_delete": _l("delete material picture"),
    "account.delete": _l("customer deleted their account"),
    "account.phone_reveal": _l("show a customer's full phone number"),
    "campaign.create": _l("create incentive campaign"),
    "campaign.update": _l("change incentive campaign"),
    "campaign.stop": _l("stop incentive campaign"),
    "customer.block": _l("block customer"),
    "customer.unblock": _l("unblock customer"),
    "customer.tags": _l("set customer tags"),
    "customer.bulk_coupon": _l("issue coupon to filtered customers"),
    "customer_tag.create": _l("create customer tag"),
    "customer_tag.delete": _l("delete customer tag"),
}

AUDIT_TARGETS: dict[str, LazyString] = {
    "distributor": _l("distributor"),
    "order": _l("order"),
    "product": _l("product"),
    "sku": _l("SKU"),
    "settings": _l("settings"),
    "staff": _l("staff"),
    "withdrawal": _l("withdrawal"),
    "coupon_template": _l("coupon"),
    "coupon": _l("shopper's coupon"),
    "timed_discount": _l("limited-time discount"),
    "flash_sale": _l("flash sale"),
    "group_buy": _l("group buy"),
    "full_reduction": _l("full reduction"),
    "shipping_template": _l("shipping template"),
    "stock_settings": _l("stock alert settings"),
    "webhook_endpoint": _l("webhook endpoint"),
    "webhook_delivery": _l("webhook delivery"),
    "api_key": _l("API key"),
    "aftersale": _l("after-sale"),
    "material": _l("material"),
    "user": _l("customer"),
    "campaign": _l("incentive campaign"),
    "customer_tag": _l("customer tag"),
}

# ---- Codes of the marketing pages -----------------------------------------------------

OFFER_STATUSES: dict[str, LazyString] = {
    "paused": _l("paused"),
    "ended": _l("ended"),
    "upcoming": _l("not started"),  # shown for an active promotion before its start
}

COUPON_AUDIENCES: dict[str, LazyString] = {
    "anyone": _l("any shopper"),
    "new_users": _l("new shoppers (no paid order yet)"),
    "distributor_customers": _l("through a distributor's share only"),
    "staff_issued": _l("given out by staff only"),
}

REFUND_POLICIES: dict[str, LazyString] = {
    "return": _l("returned to the shopper, same validity"),
    "reissue": _l("a new coupon with a fresh validity"),
    "keep": _l("stays used"),
}

COUPON_STATUSES: dict[str, LazyString] = {
    "unused": _l("unused"),
    "locked": _l("held by an unpaid order"),
    "used": _l("used"),
    "expired": _l("expired"),
    "returned": _l("returned"),
}

# Why "issue to users" gave a user no coupon (the claim's refusal codes).
ISSUE_REFUSALS: dict[str, LazyString] = {
    "no_such_user": _l("no such user"),
    "claim_closed": _l("the coupon cannot be claimed now"),
    "new_users_only": _l("not a new shopper"),
    "limit_reached": _l("already holds as many as allowed"),
    "daily_limit": _l("daily limit reached"),
    "sold_out": _l("none left"),
    "staff_only": _l("given out by staff only"),
    "share_only": _l("through a distributor's share only"),
    "retry": _l("busy, please try again"),
    "not_found": _l("no such coupon"),
}

# ---- Codes of the message page ---------------------------------------------------------

MESSAGE_STATUSES: dict[str, LazyString] = {
    "queued": _l("queued"),
    "sending": _l("sending"),
    "retry": _l("waiting to retry"),
    "sent": _l("sent"),
    "no_consent": _l("no consent left, not sent"),
    "refused": _l("refused by the user"),
}

PUSH_LABELS: dict[str, LazyString] = {
    "trade_manage_remind_shipping": _l("WeChat reminds us to ship"),
    "trade_manage_order_settlement": _l("WeChat settled the payment"),
    "reminded": _l("reminder recorded"),
    "not_shipped": _l("order not shipped, unchanged"),
    "unknown_payment": _l("no such payment"),
    "foreign_merchant": _l("another merchant's payment, ignored"),
    "logged": _l("recorded"),
}

NOTICE_KIND_LABELS: dict[str, LazyString] = {
    "order_shipped": _l("order shipped"),
    "aftersale_result": _l("after-sale result"),
    "commission_settled": _l("commission settled"),
    "withdrawal_finished": _l("withdrawal paid or failed"),
    "distributor_approved": _l("distributor approved"),
    "stock_alert": _l("stock alert (to staff)"),
}

# A SKU's stock alert state (`Sku.stock_alert`), prefixed: "ok" alone is too common a code.
STOCK_ALERT_STATES: dict[str, LazyString] = {
    "stock_ok": _l("stock ok"),
    "stock_low": _l("low stock"),
    "stock_out": _l("sold out"),
}

# ---- Codes of the incentive campaign pages ----------------------------------------------

INCENTIVE_LABELS: dict[str, LazyString] = {
    "boost": _l("commission boost"),
    "draft": _l("draft"),
    "scope_all": _l("every sale"),
    "scope_products": _l("chosen products"),
    "scope_categories": _l("chosen categories"),
    "scope_levels": _l("chosen distributor levels"),
    "rate_override": _l("a rate instead of the normal one"),
    "rate_extra": _l("extra on top of the normal rate"),
    "period_week": _l("a week"),
    "period_month": _l("a month"),
    "period_custom": _l("from start to end"),
}

for _table in (
    INCENTIVE_LABELS,
    MESSAGE_STATUSES,
    PUSH_LABELS,
    NOTICE_KIND_LABELS,
    STOCK_ALERT_STATES,
    LEDGER_BUCKETS,
    LEDGER_KINDS,
    COMMISSION_RATE_SOURCES,
    AUDIT_ACTIONS,
    AUDIT_TARGETS,
    OFFER_STATUSES,
    COUPON_AUDIENCES,
    REFUND_POLICIES,
    COUPON_STATUSES,
    ISSUE_REFUSALS,
):
    for _code, _text in _table.items():
        LABELS.setdefault(_code, _text)
