"""What the WeChat emulator remembers: trades, refunds, enterprise payments, tokens,
counters; and posting notifies (which never raises).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import current_app

from payments.emulator.settings import EmulatorSettings
from payments.emulator.wechat.protocol import (
    NOTIFY_TIMEOUT_SECONDS,
    TOKEN_TTL_SECONDS,
    china_now,
    encrypt_refund_info,
    sign_notify,
    to_xml,
)

log = logging.getLogger(__name__)


@dataclass
class Trade:
    out_trade_no: str
    prepay_id: str
    openid: str | None
    total_fee: int
    body: str
    notify_url: str
    trade_type: str
    attach: str | None
    sign_type: str
    fingerprint: tuple[Any, ...]
    state: str = "NOTPAY"  # NOTPAY / SUCCESS / CLOSED / REFUND
    transaction_id: str | None = None
    time_end: str | None = None
    notify_body: bytes | None = field(default=None, repr=False)
    notifies_sent: int = 0


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    total_fee: int
    refund_fee: int
    notify_url: str | None
    status: str = "PROCESSING"  # PROCESSING / SUCCESS
    success_time: str | None = None
    notifies_sent: int = 0


@dataclass
class Transfer:
    """An enterprise payment (企业付款到零钱) that was made: the money left the merchant."""

    partner_trade_no: str
    payment_no: str
    openid: str
    amount: int
    desc: str
    check_name: str
    re_user_name: str | None
    payment_time: str  # "YYYY-MM-DD HH:MM:SS", China time
    fingerprint: tuple[Any, ...]
    status: str = "SUCCESS"  # what gettransferinfo reports: SUCCESS / FAILED / PROCESSING
    reason: str | None = None


@dataclass
class TransferSystemError:
    """Armed by `/_emulator/wechat/transfer-systemerror`: the next `remaining` transfers
    answer SYSTEMERROR, after paying (`paid`) or without paying."""

    remaining: int
    paid: bool
    return_fail: bool  # answer return_code FAIL too, as WeChat sometimes does


class WeChatState:
    """Everything the WeChat emulator remembers; every access goes through `lock`."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, float] = {}
            self.stats: Counter[str] = Counter()
            self.wxacode_by_key: Counter[str] = Counter()
            self.trades: dict[str, Trade] = {}
            self.refunds: dict[str, Refund] = {}
            self.auto_refund_notify = True
            self.transfers: dict[str, Transfer] = {}
            self.transfers_paid: Counter[str] = Counter()
            self.transfer_systemerror: TransferSystemError | None = None
            # shipping information (payments.emulator.wechat.shipping), by transaction_id
            self.shipping: dict[str, Any] = {}
            self.transaction_index: dict[str, str] = {}  # transaction_id -> out_trade_no
            # getPhoneNumber codes (emulator.wechat.phone): code -> (country, number, appid)
            self.phone_codes: dict[str, tuple[str, str, str]] = {}

    def count(self, name: str) -> None:
        """Count one request to an endpoint (see `/_emulator/wechat/stats`)."""
        with self.lock:
            self.stats[name] += 1

    def take_transfer_systemerror(self) -> TransferSystemError | None:
        """Consume one use of the armed SYSTEMERROR answer, if any."""
        with self.lock:
            armed = self.transfer_systemerror
            if armed is None:
                return None
            armed.remaining -= 1
            if armed.remaining <= 0:
                self.transfer_systemerror = None
            return armed

    # tokens -------------------------------------------------------------------------
    def issue_token(self) -> str:
        token = secrets.token_urlsafe(96)
        with self.lock:
            self.tokens[token] = time.time() + TOKEN_TTL_SECONDS
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            expires = self.tokens.get(token)
            return expires is not None and expires > time.time()

    # lookups ------------------------------------------------------------------------
    def find_trade(
        self, out_trade_no: str | None = None, transaction_id: str | None = None
    ) -> Trade | None:
        with self.lock:
            if transaction_id:
                return next(
                    (t for t in self.trades.values() if t.transaction_id == transaction_id),
                    None,
                )
            return self.trades.get(out_trade_no or "")

    def find_by_prepay(self, prepay_id: str) -> Trade | None:
        with self.lock:
            return next((t for t in self.trades.values() if t.prepay_id == prepay_id), None)

    def refunded_total(self, out_trade_no: str) -> int:
        with self.lock:
            return sum(
                r.refund_fee for r in self.refunds.values() if r.out_trade_no == out_trade_no
            )

    # notifies -----------------------------------------------------------------------
    def pay_notify_body(self, trade: Trade) -> bytes:
        s = self.settings
        fields: dict[str, Any] = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": s.wechat_appid,
            "mch_id": s.wechat_mch_id,
            "nonce_str": secrets.token_hex(16),
            "result_code": "SUCCESS",
            "openid": trade.openid,
            "is_subscribe": "N",
            "trade_type": trade.trade_type,
            "bank_type": "OTHERS",
            "total_fee": trade.total_fee,
            "cash_fee": trade.total_fee,
            "fee_type": "CNY",
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "attach": trade.attach,
            "time_end": trade.time_end,
        }
        if trade.sign_type != "MD5":
            fields["sign_type"] = trade.sign_type
        return sign_notify(fields, s.wechat_pay_api_key)

    def refund_notify_body(self, refund: Refund) -> bytes:
        s = self.settings
        inner = {
            "out_trade_no": refund.out_trade_no,
            "transaction_id": refund.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "total_fee": refund.total_fee,
            "settlement_total_fee": refund.total_fee,
            "refund_fee": refund.refund_fee,
            "settlement_refund_fee": refund.refund_fee,
            "refund_status": refund.status,
            "success_time": refund.success_time,
            "refund_recv_accout": "支付用户零钱",
            "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
            "refund_request_source": "API",
        }
        return to_xml(
            {
                "return_code": "SUCCESS",
                "appid": s.wechat_appid,
                "mch_id": s.wechat_mch_id,
                "nonce_str": secrets.token_hex(16),
                "req_info": encrypt_refund_info(inner, s.wechat_pay_api_key),
            }
        )

    def settle_refund(self, out_refund_no: str, *, force_notify: bool) -> dict[str, Any] | None:
        """Mark a refund SUCCESS and post its notify. A refund already settled is only
        notified again when `force_notify` (the control endpoint); None if unknown."""
        with self.lock:
            refund = self.refunds.get(out_refund_no)
            if refund is None:
                return None
            if refund.status == "SUCCESS" and not force_notify:
                return {"refund_status": refund.status, "notify_status": None}
            refund.status = "SUCCESS"
            refund.success_time = refund.success_time or china_now().strftime("%Y-%m-%d %H:%M:%S")
            url = refund.notify_url
            body = self.refund_notify_body(refund)
            if url:
                refund.notifies_sent += 1
                self.stats["refund_notifies"] += 1
        result: dict[str, Any] = {"refund_status": "SUCCESS", "out_refund_no": out_refund_no}
        if url:
            status, text = post_notify(url, body)
            result.update(notify_status=status, notify_response=text)
        else:
            result.update(notify_status=None, notify_response="no notify_url")
        return result


def post_notify(url: str, body: bytes) -> tuple[int | None, str]:
    """POST a notify as WeChat does; never raises (a dead receiver gives (None, error))."""
    try:
        res = requests.post(
            url, data=body, headers={"Content-Type": "text/xml"}, timeout=NOTIFY_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        log.warning("notify to %s failed: %s", url, exc)
        return None, str(exc)
    return res.status_code, res.text


def current_state() -> WeChatState:
    return current_app.extensions["emulator_wechat"]  # type: ignore[no-any-return]
