"""What the Alipay emulator remembers: trades, payouts, the merchant balance, counters."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app

from payments.emulator.alipay.protocol import (
    CN_TZ,
    EXTENSION,
    WAIT_BUYER_PAY,
    load_rsa_private_key,
)
from payments.emulator.settings import EmulatorSettings
from payments.money import fen_to_yuan


def china_now() -> str:
    return datetime.now(CN_TZ).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class EmulatedTrade:
    """One trade as the emulated Alipay knows it."""

    out_trade_no: str
    total_fen: int
    subject: str
    product_code: str
    notify_url: str | None
    return_url: str | None
    timeout_express: str | None
    gmt_create: str
    status: str = WAIT_BUYER_PAY
    trade_no: str | None = None
    buyer_id: str | None = None
    buyer_logon_id: str | None = None
    gmt_payment: str | None = None
    gmt_close: str | None = None
    refunds: dict[str, int] = field(default_factory=dict)  # out_request_no -> fen
    refunded_fen: int = 0
    notifies_sent: int = 0

    @property
    def paid(self) -> bool:
        return self.trade_no is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "out_trade_no": self.out_trade_no,
            "trade_no": self.trade_no,
            "trade_status": self.status,
            "total_amount": fen_to_yuan(self.total_fen),
            "total_fen": self.total_fen,
            "subject": self.subject,
            "product_code": self.product_code,
            "notify_url": self.notify_url,
            "return_url": self.return_url,
            "timeout_express": self.timeout_express,
            "gmt_create": self.gmt_create,
            "gmt_payment": self.gmt_payment,
            "gmt_close": self.gmt_close,
            "buyer_id": self.buyer_id,
            "buyer_logon_id": self.buyer_logon_id,
            "refunded_fen": self.refunded_fen,
            "refund_fee": fen_to_yuan(self.refunded_fen),
            "refunds": dict(self.refunds),
            "notifies_sent": self.notifies_sent,
        }


@dataclass(frozen=True)
class TransferRequest:
    """What a payout asked for; a repeat of the out_biz_no must ask for exactly this."""

    amount_fen: int
    product_code: str
    biz_scene: str
    payee_identity: str
    payee_identity_type: str
    payee_name: str | None
    order_title: str
    remark: str | None


@dataclass
class EmulatedTransfer:
    """One payout (`alipay.fund.trans.uni.transfer`) that took place."""

    out_biz_no: str
    request: TransferRequest
    order_id: str
    pay_fund_order_id: str
    trans_date: str
    status: str = "SUCCESS"
    error_code: str | None = None
    fail_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "out_biz_no": self.out_biz_no,
            "order_id": self.order_id,
            "pay_fund_order_id": self.pay_fund_order_id,
            "status": self.status,
            "trans_date": self.trans_date,
            "trans_amount": fen_to_yuan(self.request.amount_fen),
            "amount_fen": self.request.amount_fen,
            "product_code": self.request.product_code,
            "biz_scene": self.request.biz_scene,
            "payee_info": {
                "identity": self.request.payee_identity,
                "identity_type": self.request.payee_identity_type,
                "name": self.request.payee_name,
            },
            "order_title": self.request.order_title,
            "remark": self.request.remark,
            "error_code": self.error_code,
            "fail_reason": self.fail_reason,
        }


class AlipayEmulatorState:
    """Trades, payouts and call counts, guarded by one lock (the server is threaded)."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.app_public_key = load_rsa_private_key(settings.alipay_app_private_key).public_key()
        self.platform_key = load_rsa_private_key(settings.alipay_platform_private_key)
        self.lock = threading.RLock()
        self.trades: dict[str, EmulatedTrade] = {}
        self.by_trade_no: dict[str, str] = {}
        self.stats: Counter[str] = Counter()
        self.transfers: dict[str, EmulatedTransfer] = {}
        self.transfers_paid: Counter[str] = Counter()  # out_biz_no -> times money left
        self.merchant_balance_fen: int | None = None  # None: unlimited
        # A random start keeps trade numbers unique across emulator restarts.
        self._seq = secrets.randbelow(10**12) * 100

    def reset(self) -> None:
        with self.lock:
            self.trades.clear()
            self.by_trade_no.clear()
            self.stats.clear()
            self.transfers.clear()
            self.transfers_paid.clear()
            self.merchant_balance_fen = None

    def count(self, method: str) -> None:
        with self.lock:
            self.stats[method or "<missing>"] += 1

    def next_trade_no(self) -> str:
        """28 digits like Alipay's: date + 220014 + 14-digit sequence. Call under the lock."""
        self._seq = (self._seq + 1) % 10**14
        return datetime.now(CN_TZ).strftime("%Y%m%d") + f"220014{self._seq:014d}"

    def next_transfer_ids(self) -> tuple[str, str]:
        """(order_id, pay_fund_order_id), 32 digits each like Alipay's. Call under the lock."""
        self._seq = (self._seq + 1) % 10**14
        head = datetime.now(CN_TZ).strftime("%Y%m%d") + "110070"
        return f"{head}0001{self._seq:014d}", f"{head}0015{self._seq:014d}"

    def find(self, out_trade_no: str | None, trade_no: str | None) -> EmulatedTrade | None:
        """Look a trade up by out_trade_no, else trade_no. Call under the lock."""
        if out_trade_no:
            trade = self.trades.get(out_trade_no)
            if trade is not None and trade_no and trade.trade_no != trade_no:
                return None
            return trade
        if trade_no and trade_no in self.by_trade_no:
            return self.trades[self.by_trade_no[trade_no]]
        return None


def current_state() -> AlipayEmulatorState:
    return current_app.extensions[EXTENSION]
