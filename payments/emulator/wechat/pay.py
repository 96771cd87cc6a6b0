"""WeChat Pay v2 trades: `/pay/unifiedorder`, `/pay/orderquery`, `/pay/closeorder`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from payments.emulator.wechat.protocol import PAID_STATES, china_now, random_digits
from payments.emulator.wechat.state import Trade, current_state
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

bp = Blueprint("emulator_wechat_pay", __name__)
bp.register_error_handler(ProtocolFail, answer_protocol_fail)


@bp.post("/pay/unifiedorder")
def unifiedorder() -> Response:
    state = current_state()
    state.count("unifiedorder")
    req = read_pay_request(
        state,
        (
            "nonce_str",
            "body",
            "out_trade_no",
            "total_fee",
            "spbill_create_ip",
            "notify_url",
            "trade_type",
        ),
    )
    total_fee = int_field(req, "total_fee")
    f = req.fields
    if f["trade_type"] not in ("JSAPI", "NATIVE", "APP", "MWEB"):
        protocol_fail("trade_type参数格式错误")
    fault = take_fail()
    if fault is not None:
        return biz_fail(req, fault.code, fault.message)
    if f["trade_type"] == "JSAPI" and not f.get("openid"):
        return biz_fail(req, "PARAM_ERROR", "JSAPI支付必须传openid")
    fingerprint = (total_fee, f.get("openid"), f["trade_type"], f["body"], f.get("fee_type"))
    with state.lock:
        trade = state.trades.get(f["out_trade_no"])
        if trade is None:
            trade = Trade(
                out_trade_no=f["out_trade_no"],
                prepay_id="wx" + china_now().strftime("%Y%m%d%H%M%S") + random_digits(16),
                openid=f.get("openid"),
                total_fee=total_fee,
                body=f["body"],
                notify_url=f["notify_url"],
                trade_type=f["trade_type"],
                attach=f.get("attach"),
                sign_type=req.sign_type,
                fingerprint=fingerprint,
            )
            state.trades[trade.out_trade_no] = trade
        elif trade.state in PAID_STATES:
            return biz_fail(req, "ORDERPAID", "该订单已支付")
        elif trade.state == "CLOSED":
            return biz_fail(req, "ORDERCLOSED", "该订单已关闭")
        elif trade.fingerprint != fingerprint:
            return biz_fail(req, "INVALID_REQUEST", "201 商户订单号重复")
        prepay_id = trade.prepay_id
    return signed_ok(req, {"prepay_id": prepay_id, "trade_type": f["trade_type"]})


@bp.post("/pay/orderquery")
def orderquery() -> Response:
    state = current_state()
    state.count("orderquery")
    req = read_pay_request(state, ("nonce_str",))
    f = req.fields
    if not f.get("out_trade_no") and not f.get("transaction_id"):
        protocol_fail("缺少参数out_trade_no或transaction_id")
    fault = take_fail()
    if fault is not None:
        return biz_fail(req, fault.code, fault.message)
    with state.lock:
        trade = state.find_trade(f.get("out_trade_no"), f.get("transaction_id"))
        if trade is None:
            return biz_fail(req, "ORDERNOTEXIST", "订单不存在")
        answer: dict[str, Any] = {
            "out_trade_no": trade.out_trade_no,
            "trade_state": trade.state,
            "trade_state_desc": {
                "NOTPAY": "订单未支付",
                "SUCCESS": "支付成功",
                "CLOSED": "订单已关闭",
                "REFUND": "订单发生过退款",
            }[trade.state],
            "attach": trade.attach,
        }
        if trade.state in PAID_STATES:
            answer.update(
                openid=trade.openid,
                is_subscribe="N",
                trade_type=trade.trade_type,
                bank_type="OTHERS",
                total_fee=trade.total_fee,
                cash_fee=trade.total_fee,
                fee_type="CNY",
                transaction_id=trade.transaction_id,
                time_end=trade.time_end,
            )
    return signed_ok(req, answer)


@bp.post("/pay/closeorder")
def closeorder() -> Response:
    state = current_state()
    state.count("closeorder")
    req = read_pay_request(state, ("nonce_str", "out_trade_no"))
    fault = take_fail()
    if fault is not None:
        return biz_fail(req, fault.code, fault.message)
    with state.lock:
        trade = state.trades.get(req.fields["out_trade_no"])
        if trade is None:
            return biz_fail(req, "ORDERNOTEXIST", "订单不存在")
        if trade.state in PAID_STATES:
            return biz_fail(req, "ORDERPAID", "订单已支付，不能发起关单")
        if trade.state == "CLOSED":
            return biz_fail(req, "ORDERCLOSED", "订单已关闭，无法重复关闭")
        trade.state = "CLOSED"
    return signed_ok(req, {})
