"""Control endpoints under `/_emulator/wechat/` (JSON): pay trades, (re)post notifies,
settle refunds, arm transfer SYSTEMERRORs and statuses, expire tokens, reset, stats.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from payments.emulator.wechat.protocol import TRANSFER_STATUSES, china_now, random_digits
from payments.emulator.wechat.state import TransferSystemError, current_state, post_notify

bp = Blueprint("emulator_wechat_control", __name__)


@bp.post("/_emulator/wechat/transfer-systemerror")
def control_transfer_systemerror() -> tuple[Response, int] | Response:
    """Body: {"times": 1, "paid": true, "return_fail": false}: the next `times` transfers
    answer SYSTEMERROR, after making the payment (`paid`) or without making it."""
    body = request.get_json(silent=True) or {}
    try:
        times = int(body.get("times", 1))
    except (TypeError, ValueError):
        return jsonify(error="times must be an integer"), 400
    state = current_state()
    with state.lock:
        state.transfer_systemerror = (
            TransferSystemError(
                remaining=times,
                paid=body.get("paid", True) is not False,
                return_fail=bool(body.get("return_fail", False)),
            )
            if times > 0
            else None
        )
    return jsonify(ok=True)


@bp.post("/_emulator/wechat/transfer-status")
def control_transfer_status() -> tuple[Response, int] | Response:
    """Body: {"partner_trade_no", "status": SUCCESS|FAILED|PROCESSING, "reason"?}: what
    gettransferinfo reports for a payment made (the payment counts are untouched)."""
    body = request.get_json(silent=True) or {}
    status = str(body.get("status", ""))
    if status not in TRANSFER_STATUSES:
        return jsonify(error=f"status must be one of {TRANSFER_STATUSES}"), 400
    state = current_state()
    with state.lock:
        transfer = state.transfers.get(str(body.get("partner_trade_no", "")))
        if transfer is None:
            return jsonify(error="no such transfer"), 404
        transfer.status = status
        transfer.reason = str(body["reason"]) if body.get("reason") else None
    return jsonify(ok=True)


@bp.post("/_emulator/wechat/pay")
def control_pay() -> tuple[Response, int] | Response:
    state = current_state()
    body = request.get_json(silent=True) or {}
    with state.lock:
        if body.get("out_trade_no"):
            trade = state.trades.get(str(body["out_trade_no"]))
        else:
            trade = state.find_by_prepay(str(body.get("prepay_id", "")))
        if trade is None:
            return jsonify(error="no such trade"), 404
        if trade.state == "CLOSED":
            return jsonify(error="trade is closed"), 409
        if trade.state == "NOTPAY":
            now = china_now()
            trade.state = "SUCCESS"
            trade.transaction_id = (
                "4200" + random_digits(6) + now.strftime("%Y%m%d") + random_digits(10)
            )
            trade.time_end = now.strftime("%Y%m%d%H%M%S")
            trade.notify_body = state.pay_notify_body(trade)
        answer: dict[str, Any] = {"transaction_id": trade.transaction_id}
        notify = body.get("notify", True) is not False
        url, payload = trade.notify_url, trade.notify_body
        if notify:
            trade.notifies_sent += 1
            state.stats["pay_notifies"] += 1
    if notify and payload is not None:
        status, text = post_notify(url, payload)
        answer.update(notify_status=status, notify_response=text)
    return jsonify(answer)


@bp.post("/_emulator/wechat/notify")
def control_notify() -> tuple[Response, int] | Response:
    state = current_state()
    body = request.get_json(silent=True) or {}
    with state.lock:
        trade = state.trades.get(str(body.get("out_trade_no", "")))
        if trade is None:
            return jsonify(error="no such trade"), 404
        if trade.notify_body is None:
            return jsonify(error="trade not paid"), 409
        url, payload = trade.notify_url, trade.notify_body
        trade.notifies_sent += 1
        state.stats["pay_notifies"] += 1
    status, text = post_notify(url, payload)
    return jsonify(transaction_id=trade.transaction_id, notify_status=status, notify_response=text)


@bp.post("/_emulator/wechat/settle-refund")
def control_settle_refund() -> tuple[Response, int] | Response:
    body = request.get_json(silent=True) or {}
    result = current_state().settle_refund(str(body.get("out_refund_no", "")), force_notify=True)
    if result is None:
        return jsonify(error="no such refund"), 404
    return jsonify(result)


@bp.post("/_emulator/wechat/config")
def control_config() -> Response:
    state = current_state()
    body = request.get_json(silent=True) or {}
    with state.lock:
        if "auto_refund_notify" in body:
            state.auto_refund_notify = bool(body["auto_refund_notify"])
        return jsonify(auto_refund_notify=state.auto_refund_notify)


@bp.post("/_emulator/wechat/expire-tokens")
def control_expire_tokens() -> Response:
    state = current_state()
    with state.lock:
        expired = len(state.tokens)
        state.tokens.clear()
    return jsonify(expired=expired)


@bp.post("/_emulator/wechat/reset")
def control_reset() -> Response:
    current_state().reset()
    for name in ("emulator_wechat_v3", "emulator_wechat_subscribe"):  # transfers, messages
        other = current_app.extensions.get(name)
        if other is not None:
            other.reset()
    return jsonify(ok=True)


@bp.get("/_emulator/wechat/stats")
def control_stats() -> Response:
    state = current_state()
    with state.lock:
        names = (
            "token_fetches",
            "jscode2session",
            "wxacode",
            "unifiedorder",
            "orderquery",
            "closeorder",
            "refunds",
            "refundquery",
            "pay_notifies",
            "refund_notifies",
            "transfers",
            "gettransferinfo",
        )
        stats: dict[str, Any] = {name: state.stats[name] for name in names}
        stats["transfers_paid"] = dict(state.transfers_paid)
        stats["wxacode_by_key"] = dict(state.wxacode_by_key)
        stats["valid_tokens"] = len(state.tokens)
    return jsonify(stats)


@bp.get("/_emulator/wechat/trades/<out_trade_no>")
def control_trade(out_trade_no: str) -> tuple[Response, int] | Response:
    state = current_state()
    with state.lock:
        trade = state.trades.get(out_trade_no)
        if trade is None:
            return jsonify(error="no such trade"), 404
        data = asdict(trade)
        data.pop("notify_body")
        data.pop("fingerprint")
        data["refunds"] = [
            asdict(r) for r in state.refunds.values() if r.out_trade_no == out_trade_no
        ]
    return jsonify(data)
