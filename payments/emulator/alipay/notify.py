"""The `trade_status_sync` notify: its signed fields and posting it (never raises)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import requests

from payments.emulator.alipay.protocol import (
    NOTIFY_TIMEOUT_SECONDS,
    SELLER_ID,
    rsa2_sign,
    sign_content,
)
from payments.emulator.alipay.state import AlipayEmulatorState, EmulatedTrade, china_now
from payments.money import fen_to_yuan


def notify_fields(state: AlipayEmulatorState, trade: EmulatedTrade) -> dict[str, str]:
    """The signed `trade_status_sync` notify for the trade's current status. Call under the
    lock; the trade must have been paid."""
    amount = fen_to_yuan(trade.total_fen)
    fields = {
        "notify_time": china_now(),
        "notify_type": "trade_status_sync",
        "notify_id": uuid.uuid4().hex,
        "app_id": state.settings.alipay_app_id,
        "auth_app_id": state.settings.alipay_app_id,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": trade.trade_no or "",
        "out_trade_no": trade.out_trade_no,
        "trade_status": trade.status,
        "total_amount": amount,
        "receipt_amount": amount,
        "buyer_pay_amount": amount,
        "invoice_amount": amount,
        "gmt_create": trade.gmt_create,
        "gmt_payment": trade.gmt_payment or "",
        "subject": trade.subject,
        "buyer_id": trade.buyer_id or "",
        "seller_id": SELLER_ID,
    }
    if trade.refunded_fen:
        fields["refund_fee"] = fen_to_yuan(trade.refunded_fen)
    if trade.gmt_close:
        fields["gmt_close"] = trade.gmt_close
    fields = {k: v for k, v in fields.items() if v != ""}
    signed = {k: str(v) for k, v in fields.items()}
    signed["sign_type"] = "RSA2"
    signed["sign"] = rsa2_sign(state.platform_key, sign_content(signed, ("sign", "sign_type")))
    return signed


def post_notify(notify_url: str | None, fields: Mapping[str, str]) -> tuple[int | None, str]:
    """POST the notify form; (HTTP status or None, body or error text). Never raises."""
    if not notify_url:
        return None, "no notify_url"
    try:
        answer = requests.post(notify_url, data=dict(fields), timeout=NOTIFY_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        return None, f"notify failed: {exc}"
    return answer.status_code, answer.text[:2000]
