"""Control endpoints under `/_emulator/alipay/` (JSON): pay, re-notify, finish, reset,
stats, trade and payout records, payout status, merchant balance.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from payments.emulator.alipay.notify import notify_fields, post_notify
from payments.emulator.alipay.protocol import (
    TRADE_FINISHED,
    TRADE_SUCCESS,
    TRANSFER_STATUSES,
    WAIT_BUYER_PAY,
)
from payments.emulator.alipay.state import EmulatedTrade, china_now, current_state

bp = Blueprint("emulator_alipay_control", __name__)


def _control_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        return body
    return {k: request.form[k] for k in request.form}


def _flag(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def _control_trade(body: Mapping[str, Any]) -> tuple[EmulatedTrade | None, Response | None]:
    out_trade_no = body.get("out_trade_no")
    if not isinstance(out_trade_no, str) or not out_trade_no:
        return None, _json_error(400, "out_trade_no is required")
    trade = current_state().trades.get(out_trade_no)
    if trade is None:
        return None, _json_error(404, f"no trade {out_trade_no}")
    return trade, None


def _json_error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


@bp.post("/_emulator/alipay/pay")
def pay() -> Response:
    state = current_state()
    body = _control_body()
    with state.lock:
        trade, error = _control_trade(body)
        if trade is None:
            assert error is not None
            return error
        if trade.paid:
            return jsonify(
                trade_no=trade.trade_no,
                already_paid=True,
                notify_status=None,
                notify_response=None,
            )
        if trade.status != WAIT_BUYER_PAY:
            return _json_error(409, f"trade {trade.out_trade_no} is {trade.status}")
        trade.trade_no = state.next_trade_no()
        state.by_trade_no[trade.trade_no] = trade.out_trade_no
        trade.status = TRADE_SUCCESS
        trade.gmt_payment = china_now()
        trade.buyer_id = "2088" + f"{secrets.randbelow(10**12):012d}"
        phone_head, phone_tail = secrets.randbelow(90) + 10, secrets.randbelow(10**4)
        trade.buyer_logon_id = f"1{phone_head}****{phone_tail:04d}"
        fields = notify_fields(state, trade) if _flag(body.get("notify")) else None
        trade_no, notify_url = trade.trade_no, trade.notify_url
    status, text = None, None
    if fields is not None:
        status, text = post_notify(notify_url, fields)
        with state.lock:
            trade.notifies_sent += 1
    return jsonify(trade_no=trade_no, notify_status=status, notify_response=text)


@bp.post("/_emulator/alipay/notify")
def notify() -> Response:
    state = current_state()
    with state.lock:
        trade, error = _control_trade(_control_body())
        if trade is None:
            assert error is not None
            return error
        if not trade.paid:
            return _json_error(409, f"trade {trade.out_trade_no} was never paid")
        fields = notify_fields(state, trade)
        notify_url = trade.notify_url
    status, text = post_notify(notify_url, fields)
    with state.lock:
        trade.notifies_sent += 1
    return jsonify(trade_no=trade.trade_no, notify_status=status, notify_response=text)


@bp.post("/_emulator/alipay/finish")
def finish() -> Response:
    state = current_state()
    with state.lock:
        trade, error = _control_trade(_control_body())
        if trade is None:
            assert error is not None
            return error
        if trade.status not in (TRADE_SUCCESS, TRADE_FINISHED):
            return _json_error(409, f"trade {trade.out_trade_no} is {trade.status}")
        trade.status = TRADE_FINISHED
        return jsonify(trade.as_json())


@bp.post("/_emulator/alipay/reset")
def reset() -> Response:
    current_state().reset()
    return jsonify(ok=True)


@bp.get("/_emulator/alipay/stats")
def stats() -> Response:
    state = current_state()
    with state.lock:
        return jsonify({**state.stats, "transfers_paid": dict(state.transfers_paid)})


@bp.get("/_emulator/alipay/transfers/<out_biz_no>")
def transfer_record(out_biz_no: str) -> Response:
    state = current_state()
    with state.lock:
        transfer = state.transfers.get(out_biz_no)
        if transfer is None:
            return _json_error(404, f"no transfer {out_biz_no}")
        return jsonify({**transfer.as_json(), "paid": state.transfers_paid[out_biz_no]})


@bp.post("/_emulator/alipay/transfers/<out_biz_no>/status")
def transfer_status(out_biz_no: str) -> Response:
    state = current_state()
    body = _control_body()
    status = body.get("status")
    if status not in TRANSFER_STATUSES:
        return _json_error(400, f"status must be one of {', '.join(TRANSFER_STATUSES)}")
    with state.lock:
        transfer = state.transfers.get(out_biz_no)
        if transfer is None:
            return _json_error(404, f"no transfer {out_biz_no}")
        transfer.status = status
        transfer.error_code = str(body["error_code"]) if body.get("error_code") else None
        transfer.fail_reason = str(body["fail_reason"]) if body.get("fail_reason") else None
        return jsonify(transfer.as_json())


@bp.post("/_emulator/alipay/balance")
def merchant_balance() -> Response:
    state = current_state()
    balance = _control_body().get("balance_fen")
    if balance is not None and (
        not isinstance(balance, int) or isinstance(balance, bool) or balance < 0
    ):
        return _json_error(400, "balance_fen must be a non-negative integer or null")
    with state.lock:
        state.merchant_balance_fen = balance
    return jsonify(balance_fen=balance)


@bp.get("/_emulator/alipay/trades/<out_trade_no>")
def trade_record(out_trade_no: str) -> Response:
    state = current_state()
    with state.lock:
        trade = state.trades.get(out_trade_no)
        if trade is None:
            return _json_error(404, f"no trade {out_trade_no}")
        return jsonify(trade.as_json())
