"""Trade methods: `alipay.trade.wap.pay`, `.query`, `.close`, `.refund`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response

from payments.emulator.alipay.protocol import (
    OUT_NO,
    TIMEOUT_EXPRESS,
    TRADE_CLOSED,
    TRADE_FINISHED,
    TRADE_SUCCESS,
    WAIT_BUYER_PAY,
)
from payments.emulator.alipay.state import AlipayEmulatorState, EmulatedTrade, china_now
from payments.emulator.alipay.wire import (
    Refusal,
    biz_amount,
    biz_str,
    cashier_page,
    lookup_trade,
    success_answer,
)
from payments.money import fen_to_yuan


def wap_pay(state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]) -> Response:
    out_trade_no = biz_str(biz, "out_trade_no", required=True) or ""
    if not OUT_NO.fullmatch(out_trade_no):
        raise Refusal("40004", "ACQ.INVALID_PARAMETER", "out_trade_no 格式错误")
    total_fen = biz_amount(biz, "total_amount")
    subject = biz_str(biz, "subject", required=True) or ""
    if len(subject) > 256:
        raise Refusal("40004", "ACQ.INVALID_PARAMETER", "subject 过长")
    product_code = biz_str(biz, "product_code") or "QUICK_WAP_WAY"
    if product_code != "QUICK_WAP_WAY":
        raise Refusal("40004", "ACQ.INVALID_PARAMETER", "product_code 必须为 QUICK_WAP_WAY")
    timeout_express = biz_str(biz, "timeout_express")
    if timeout_express is not None and not TIMEOUT_EXPRESS.fullmatch(timeout_express):
        raise Refusal("40004", "ACQ.INVALID_PARAMETER", "timeout_express 格式错误")
    with state.lock:
        trade = state.trades.get(out_trade_no)
        if trade is None:
            trade = EmulatedTrade(
                out_trade_no=out_trade_no,
                total_fen=total_fen,
                subject=subject,
                product_code=product_code,
                notify_url=params.get("notify_url") or None,
                return_url=params.get("return_url") or None,
                timeout_express=timeout_express,
                gmt_create=china_now(),
            )
            state.trades[out_trade_no] = trade
        elif trade.total_fen != total_fen:
            raise Refusal("40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改: 金额不一致")
        elif trade.status in (TRADE_SUCCESS, TRADE_FINISHED):
            raise Refusal("40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        elif trade.status == TRADE_CLOSED:
            raise Refusal("40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        return cashier_page(trade)


def trade_query(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    with state.lock:
        trade = lookup_trade(state, biz)
        fields: dict[str, Any] = {"out_trade_no": trade.out_trade_no}
        if trade.trade_no:
            fields["trade_no"] = trade.trade_no
        fields["trade_status"] = trade.status
        fields["total_amount"] = fen_to_yuan(trade.total_fen)
        if trade.paid:
            fields.update(
                buyer_logon_id=trade.buyer_logon_id,
                buyer_user_id=trade.buyer_id,
                buyer_pay_amount=fen_to_yuan(trade.total_fen),
                receipt_amount=fen_to_yuan(trade.total_fen),
                send_pay_date=trade.gmt_payment,
            )
        return success_answer(state, "alipay.trade.query", **fields)


def trade_close(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    with state.lock:
        trade = lookup_trade(state, biz)
        if trade.paid:
            raise Refusal("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if trade.status == WAIT_BUYER_PAY:
            trade.status = TRADE_CLOSED
            trade.gmt_close = china_now()
        return success_answer(state, "alipay.trade.close", out_trade_no=trade.out_trade_no)


def trade_refund(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    refund_fen = biz_amount(biz, "refund_amount")
    out_request_no = biz_str(biz, "out_request_no")
    if out_request_no is not None and not OUT_NO.fullmatch(out_request_no):
        raise Refusal("40004", "ACQ.INVALID_PARAMETER", "out_request_no 格式错误")
    with state.lock:
        trade = lookup_trade(state, biz)
        echo = {"out_trade_no": trade.out_trade_no}
        request_no = out_request_no or trade.out_trade_no  # none given: one full refund
        previous = trade.refunds.get(request_no)
        if previous is not None:
            if previous != refund_fen:
                raise Refusal(
                    "40004", "ACQ.CONTEXT_INCONSISTENT", "同一退款请求号的退款金额不一致", **echo
                )
            fund_change = "N"
        else:
            if not trade.paid:
                raise Refusal("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法", **echo)
            if trade.status == TRADE_CLOSED:
                raise Refusal("40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭", **echo)
            if trade.status == TRADE_FINISHED:
                raise Refusal("40004", "ACQ.TRADE_HAS_FINISHED", "交易已完结", **echo)
            if out_request_no is None and refund_fen != trade.total_fen:
                raise Refusal(
                    "40004",
                    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                    "撤销或退款金额与订单金额不一致",
                    **echo,
                )
            if trade.refunded_fen + refund_fen > trade.total_fen:
                raise Refusal(
                    "40004", "ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额超过可退金额", **echo
                )
            trade.refunds[request_no] = refund_fen
            trade.refunded_fen += refund_fen
            if trade.refunded_fen == trade.total_fen:
                trade.status = TRADE_CLOSED
                trade.gmt_close = china_now()
            fund_change = "Y"
        return success_answer(
            state,
            "alipay.trade.refund",
            trade_no=trade.trade_no,
            out_trade_no=trade.out_trade_no,
            buyer_logon_id=trade.buyer_logon_id,
            buyer_user_id=trade.buyer_id,
            fund_change=fund_change,
            refund_fee=fen_to_yuan(trade.refunded_fen),
            send_back_fee=fen_to_yuan(refund_fen),
            gmt_refund_pay=china_now(),
        )
