"""`/gateway.do`: dispatches each method to its handler, after the common checks and
any armed `fail` fault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, current_app

from payments.emulator.alipay.fund import fund_query, fund_transfer
from payments.emulator.alipay.state import AlipayEmulatorState, current_state
from payments.emulator.alipay.trade import trade_close, trade_query, trade_refund, wap_pay
from payments.emulator.alipay.wire import (
    Refusal,
    check_common,
    collect_params,
    parse_biz_content,
    refusal_answer,
)

bp = Blueprint("emulator_alipay_gateway", __name__)


Handler = Callable[[AlipayEmulatorState, Mapping[str, str], dict[str, Any]], Response]
METHODS: dict[str, Handler] = {
    "alipay.trade.wap.pay": wap_pay,
    "alipay.trade.query": trade_query,
    "alipay.trade.close": trade_close,
    "alipay.trade.refund": trade_refund,
    "alipay.fund.trans.uni.transfer": fund_transfer,
    "alipay.fund.trans.common.query": fund_query,
}


@bp.route("/gateway.do", methods=["GET", "POST"])
def gateway() -> Response:
    state = current_state()
    params, problem = collect_params()
    method = params.get("method", "")
    state.count(method)
    try:
        if problem:
            raise Refusal("40002", "isv.invalid-parameter", problem)
        if not method:
            raise Refusal("40001", "isv.missing-method", "missing parameter method")
        check_common(state, params)
        handler = METHODS.get(method)
        if handler is None:
            raise Refusal("40002", "isv.invalid-method", f"不存在的方法名 {method}")
        fault = current_app.extensions["emulator_faults"].take(method, ("fail",))
        if fault is not None:
            raise Refusal("40004", fault.code, fault.message)
        return handler(state, params, parse_biz_content(params))
    except Refusal as refusal:
        return refusal_answer(state, method, refusal)
