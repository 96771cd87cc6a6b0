"""Every `error.code` the API can answer, with what it means: the stable contract.

Clients branch on `error.code`, never on `error.message` (that follows Accept-Language:
zh-CN by default, or en). The OpenAPI document lists these codes; tests/test_error_codes.py
fails when the code uses one that is not here.
"""

from __future__ import annotations

# Codes our services and handlers raise (ApiError and its subclasses' defaults included).
SERVICE_CODES: dict[str, str] = {
    # generic (the ApiError classes' defaults and the error handlers)
    "bad_request": "the request is wrong; `fields` names what to change",
    "unauthorized": "no valid bearer token: log in first",
    "forbidden": "the user may not do this",
    "not_found": "no such resource (or not the user's)",
    "conflict": "the request conflicts with the current state",
    "gateway_error": "the payment or WeChat gateway refused or did not answer; try again",
    "invalid": "one or more fields are invalid; `fields` names each with its message",
    "invalid_json": "the body is missing, not application/json, not a JSON object or malformed",
    "internal_error": "an unexpected error on the server; try again later",
    # accounts
    "invalid_token": "the bearer token is forged, malformed or revoked: log in again",
    "token_expired": "the bearer token has expired: log in again",
    "invalid_code": "WeChat refused the wx.login code",
    "username_taken": "a staff account already has that username",
    "invalid_phone_code": "WeChat refused the getPhoneNumber code (unknown, expired or used)",
    "invalid_confirmation": "the account deletion's confirmation is not valid for this account "
    "or expired: ask for a new one",
    "account_blocked": "the store blocked this account: it cannot order or withdraw",
    "tag_exists": "a customer tag with that name exists",
    "deletion_blocked": "the account cannot be deleted yet; `fields` names each reason "
    "(withdrawal_open, aftersale_open, order_open, order_unpaid, balance_held, balance_owed)",
    # catalogue
    "stock_changed": "the stock moved since the page was read; reload and retry",
    "sku_code_taken": "another SKU already has this SKU code (`fields` names the code field)",
    "unsupported_picture": "the upload is not a readable JPEG, PNG or WebP picture",
    "picture_too_large": "the picture file is larger than allowed",
    "picture_too_many_pixels": "the picture has more pixels than allowed",
    "too_many_pictures": "the product has as many pictures as allowed",
    # orders and payment
    "too_many": "too many of one item in an order",
    "not_for_sale": "an ordered SKU is not on sale",
    "out_of_stock": "not enough stock for an ordered item",
    "retry": "a rare collision; send the same request again",
    "invalid_status": "the order, application or withdrawal is not in a state that allows this",
    "order_expired": "the order was not paid in time; place it again",
    "gateway_rejected": "the payment gateway refused the payment",
    # flash sales (issue 17)
    "flash_not_open": "the flash sale has no time slot open now",
    "flash_order_limit": "more units in one order than the flash sale allows; `fields` names "
    "`quantity`",
    "flash_limit_reached": "the shopper's live orders of this flash sale would pass its "
    "per-person limit; `fields` names `quantity`",
    # group buys (issue 17)
    "group_not_open": "the group-buy activity is not on now, or the group no longer takes "
    "members (paid in full, failed, past its deadline, or its leader has not paid yet)",
    "group_full": "every seat of the group is taken (by paid or unpaid members)",
    "group_joined": "the shopper already holds a seat in this group",
    "order_held": "a group buy holds the order until its group succeeds: it cannot ship",
    # the cart
    "cart_full": "the cart holds as many lines as allowed; remove one first",
    "cart_empty": "no line of the cart is selected for checkout",
    "cart_unavailable": "selected cart lines are off sale or short of stock; `fields` names "
    "each (`lines.<line id>.sku_id` off sale, `lines.<line id>.quantity` short)",
    # shipments and shipping information (issue 14, fulfilment)
    "nothing_to_ship": "every item of the order has already shipped",
    "mixed_shipment_kinds": "the packages of one order must all be express, virtual or pickup",
    "shipping_reupload_limit": "WeChat takes one correction of shipping information; it was used",
    "tracking_unavailable": "the tracking provider refused or did not answer",
    # after-sales
    "aftersale_open": "the order line already has an after-sale open; wait for it or cancel it",
    "aftersale_window_closed": "the order completed longer ago than after-sales are taken",
    "not_shipped": "a return and refund is possible only once the order has shipped",
    # addresses and shipping fees
    "unknown_region": "the region code is no district of GB/T 2260 (revision 201904); "
    "`fields` names it",
    "too_many_addresses": "the address book is full (20 addresses): delete one first",
    "not_delivered": "an item of the order is not delivered to the address's region",
    "region_required": "an item does not deliver everywhere: give the address's region_code "
    "(or an address_id)",
    # prices, coupons and promotions
    "price_changed": "the order no longer pays `expected_payable_fen`; `data.payable_fen` "
    "is the new price: show it and place the order again",
    "free_order": "the order would pay nothing; an order pays at least 1 fen",
    "coupon_unusable": "the chosen coupon cannot be used on this order; `fields.coupon_id` "
    "says why",
    "claim_closed": "the coupon cannot be claimed now (outside its claim period, paused or ended)",
    "sold_out": "every coupon of this template has been claimed; or a flash sale item's "
    "activity stock is gone (answered at once while it stays so: an unpaid order ending may "
    "bring some back)",
    "limit_reached": "the shopper already holds as many of this coupon as allowed",
    "daily_claim_limit": "the shopper has claimed as many of this coupon as allowed today",
    "staff_only": "only the store hands this coupon out",
    "share_only": "this coupon is claimed through a distributor's share",
    "new_users_only": "this coupon is for shoppers without a paid order",
    "overlapping": "the SKU already has a limited-time discount in that period",
    "not_shareable": "the coupon is not open to distributors' shares, or the share does not "
    "carry it",
    # distribution
    "programme_off": "the distribution programme is closed",
    "already_approved": "the user is already an approved distributor",
    "already_disabled": "the user is a disabled distributor",
    "already_pending": "the user's application is already waiting for review",
    "spend_required": "the user has not spent enough yet to become a distributor",
    "not_distributor": "only an approved distributor may do this",
    "rank_taken": "a distributor level already has that rank",
    "self": "a user cannot refer themselves",
    "cycle": "the referrer is in the user's own team",
    "too_deep": "the referral chain would be too deep",
    # withdrawals
    "insufficient_balance": "the available balance does not cover the amount",
    "daily_limit": "the amount would exceed today's withdrawal limit",
    # subscribe messages
    "unknown_template": "a subscribe-message template id is not one of this store's notices "
    "(`fields` names each)",
    # integrations
    "endpoint_off": "the webhook endpoint is off: turn it on before sending a delivery again",
    # the open API (wxdist.integrations.request_signing)
    "signature_missing": "an X-Wxdist-Key, -Timestamp, -Nonce or -Signature header is missing",
    "unknown_key": "no API key has this id",
    "key_revoked": "the API key was revoked",
    "stale_timestamp": "the request's timestamp is too far from the server's clock",
    "bad_signature": "the signature does not match the request (or the nonce is malformed)",
    "replayed_nonce": "the key already used this nonce: a replayed request",
    "wrong_scope": "the API key does not have the scope this operation needs",
    "rate_limited": "too many requests for the key this minute; see Retry-After",
    "request_id_reused": "the request id was already used for another request",
    "stock_below_zero": "a stock delta would take a SKU below 0; nothing was applied",
}

# HTTP errors that are not ours (an unknown route, a wrong method, a body too large, ...):
# the status code's code. Their messages are our own words per status (core.errors).
HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    410: "gone",
    411: "length_required",
    412: "precondition_failed",
    413: "request_entity_too_large",
    414: "request_uri_too_long",
    415: "unsupported_media_type",
    416: "requested_range_not_satisfiable",
    417: "expectation_failed",
    418: "im_a_teapot",
    421: "misdirected_request",
    422: "unprocessable_entity",
    423: "locked",
    424: "failed_dependency",
    428: "precondition_required",
    429: "too_many_requests",
    431: "request_header_fields_too_large",
    451: "unavailable_for_legal_reasons",
    500: "internal_server_error",
    501: "not_implemented",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
    505: "http_version_not_supported",
}
HTTP_ERROR = "http_error"  # an HTTP status outside HTTP_CODES


def _http_meaning(status: int, code: str) -> str:
    return f"HTTP {status}: " + code.replace("_", " ")


ERROR_CODES: dict[str, str] = {
    **{code: _http_meaning(status, code) for status, code in HTTP_CODES.items()},
    HTTP_ERROR: "another HTTP error; the status code says which",
    **SERVICE_CODES,
}


def http_code(status: int) -> str:
    """The `error.code` of an HTTP error with this status."""
    return HTTP_CODES.get(status, HTTP_ERROR)


def describe() -> str:
    """The codes as a Markdown list (for the OpenAPI document)."""
    return "\n".join(f"- `{code}`: {meaning}" for code, meaning in sorted(ERROR_CODES.items()))
