"""WeChat Pay v2 refunds: `/secapi/pay/refund` (settled, with a notify, shortly after
unless auto notify is off) and `/pay/refundquery`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Blueprint, Response

from payments.emulator.wechat.protocol import (
    PAID_STATES,
    REFUND_SETTLE_DELAY_SECONDS,
    random_digits,
)
from payments.emulator.wechat.state import Refund, WeChatState, current_state
from payments.emulator.wechat.wire import (
    ProtocolFail,
    answer_protocol_fail,
    biz_fail,
    int_field,
    protocol_fail,
    read_pay_request,
    signed_ok,
    take_fail,
)

bp = Blueprint("emulator_wechat_refund", __name__)
bp.register_error_handler(ProtocolFail, answer_protocol_fail)


@bp.post("/secapi/pay/refund")
def refund() -> Response:
    state = current_state()
    state.count("refunds")
    req = read_pay_request(state, ("nonce_str", "out_refund_no", "total_fee", "refund_fee"))
    f = req.fields
    if not f.get("out_trade_no") and not f.get("transaction_id"):
        protocol_fail("缺少参数out_trade_no或transaction_id")
    total_fee = int_field(req, "total_fee")
    refund_fee = int_field(req, "refund_fee")
    fault = take_fail()
    if fault is not None:
        return biz_fail(req, fault.code, fault.message)
    with state.lock:
        trade = state.find_trade(f.get("out_trade_no"), f.get("transaction_id"))
        if trade is None:
            return biz_fail(req, "ORDERNOTEXIST", "订单不存在")
        existing = state.refunds.get(f["out_refund_no"])
        if existing is not None:
            if (
                existing.out_trade_no != trade.out_trade_no
                or existing.refund_fee != refund_fee
                or existing.total_fee != total_fee
            ):
                return biz_fail(
                    req, "INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试"
                )
            refund_row = existing
            new = False
        else:
            if trade.state not in PAID_STATES:
                return biz_fail(req, "ERROR", "订单未支付，不能退款 (trade not paid)")
            if total_fee != trade.total_fee:
                return biz_fail(req, "INVALID_REQUEST", "订单金额total_fee与实际支付金额不一致")
            if state.refunded_total(trade.out_trade_no) + refund_fee > trade.total_fee:
                return biz_fail(
                    req, "INVALID_REQUEST", "退款金额大于订单可退金额 (exceeds refundable)"
                )
            assert trade.transaction_id is not None
            refund_row = Refund(
                out_refund_no=f["out_refund_no"],
                refund_id="503" + random_digits(26),
                out_trade_no=trade.out_trade_no,
                transaction_id=trade.transaction_id,
                total_fee=total_fee,
                refund_fee=refund_fee,
                notify_url=f.get("notify_url"),
            )
            state.refunds[refund_row.out_refund_no] = refund_row
            trade.state = "REFUND"
            new = True
        auto = state.auto_refund_notify
    if new and auto:
        threading.Thread(
            target=settle_later,
            args=(state, refund_row.out_refund_no),
            name="emulator-refund-settle",
            daemon=True,
        ).start()
    return signed_ok(
        req,
        {
            "transaction_id": refund_row.transaction_id,
            "out_trade_no": refund_row.out_trade_no,
            "out_refund_no": refund_row.out_refund_no,
            "refund_id": refund_row.refund_id,
            "refund_fee": refund_row.refund_fee,
            "settlement_refund_fee": refund_row.refund_fee,
            "total_fee": refund_row.total_fee,
            "settlement_total_fee": refund_row.total_fee,
            "fee_type": "CNY",
            "cash_fee": refund_row.total_fee,
            "cash_refund_fee": refund_row.refund_fee,
        },
    )


@bp.post("/pay/refundquery")
def refundquery() -> Response:
    state = current_state()
    state.count("refundquery")
    req = read_pay_request(state, ("nonce_str",))
    f = req.fields
    keys = ("out_refund_no", "refund_id", "out_trade_no", "transaction_id")
    if not any(f.get(k) for k in keys):
        protocol_fail("缺少参数out_refund_no")
    fault = take_fail()
    if fault is not None:
        return biz_fail(req, fault.code, fault.message)
    with state.lock:
        rows = [
            r
            for r in state.refunds.values()
            if (not f.get("out_refund_no") or r.out_refund_no == f["out_refund_no"])
            and (not f.get("refund_id") or r.refund_id == f["refund_id"])
            and (not f.get("out_trade_no") or r.out_trade_no == f["out_trade_no"])
            and (not f.get("transaction_id") or r.transaction_id == f["transaction_id"])
        ]
        if not rows:
            return biz_fail(req, "REFUNDNOTEXIST", "退款订单查询失败")
        answer: dict[str, Any] = {
            "out_trade_no": rows[0].out_trade_no,
            "transaction_id": rows[0].transaction_id,
            "total_fee": rows[0].total_fee,
            "cash_fee": rows[0].total_fee,
            "fee_type": "CNY",
            "refund_count": len(rows),
            "refund_fee": sum(r.refund_fee for r in rows),
        }
        for i, r in enumerate(rows):
            answer.update(
                {
                    f"out_refund_no_{i}": r.out_refund_no,
                    f"refund_id_{i}": r.refund_id,
                    f"refund_fee_{i}": r.refund_fee,
                    f"settlement_refund_fee_{i}": r.refund_fee,
                    f"refund_status_{i}": r.status,
                    f"refund_channel_{i}": "ORIGINAL",
                    f"refund_recv_accout_{i}": "支付用户零钱",
                    f"refund_success_time_{i}": r.success_time,
                }
            )
    return signed_ok(req, answer)


def settle_later(state: WeChatState, out_refund_no: str) -> None:
    time.sleep(REFUND_SETTLE_DELAY_SECONDS)
    state.settle_refund(out_refund_no, force_notify=False)
