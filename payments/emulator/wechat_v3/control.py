"""Control endpoints under `/_emulator/wechat/v3/` (JSON): stand in for the user and
WeChat's back office (confirm, expire, fail, re-notify), config, stats, bills.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify, request

from payments.emulator.wechat_v3.protocol import CANCELABLE_STATES, FINAL_STATES
from payments.emulator.wechat_v3.state import current_state

bp = Blueprint("emulator_wechat_v3_control", __name__)


def control_finish(to: str, from_states: tuple[str, ...]) -> tuple[Response, int] | Response:
    body = request.get_json(silent=True) or {}
    reason = None
    if to == "FAIL":
        reason = str(body.get("reason") or "PAYEE_ACCOUNT_ABNORMAL")
    state = current_state()
    bill, why = state.finish(str(body.get("out_bill_no", "")), to, from_states, reason)
    if bill is None:
        return jsonify(error=why), 404
    if why is not None:
        return jsonify(error=why), 409
    answer: dict[str, Any] = {"state": bill.state, "transfer_bill_no": bill.transfer_bill_no}
    if body.get("notify", True) is not False:
        status, text = state.post_notify(bill)
        answer.update(notify_status=status, notify_response=text)
    return jsonify(answer)


@bp.post("/_emulator/wechat/v3/confirm")
def control_confirm() -> tuple[Response, int] | Response:
    return control_finish("SUCCESS", ("WAIT_USER_CONFIRM",))


@bp.post("/_emulator/wechat/v3/expire")
def control_expire() -> tuple[Response, int] | Response:
    return control_finish("CANCELLED", (*CANCELABLE_STATES, "CANCELING"))


@bp.post("/_emulator/wechat/v3/fail")
def control_fail() -> tuple[Response, int] | Response:
    return control_finish("FAIL", (*CANCELABLE_STATES, "PROCESSING", "TRANSFERING"))


@bp.post("/_emulator/wechat/v3/notify")
def control_notify() -> tuple[Response, int] | Response:
    body = request.get_json(silent=True) or {}
    state = current_state()
    bill = state.find(out_bill_no=str(body.get("out_bill_no", "")))
    if bill is None:
        return jsonify(error="no such bill"), 404
    if bill.state not in FINAL_STATES:
        return jsonify(error=f"bill is {bill.state}, not final"), 409
    status, text = state.post_notify(bill)
    return jsonify(state=bill.state, notify_status=status, notify_response=text)


@bp.post("/_emulator/wechat/v3/config")
def control_config() -> Response:
    state = current_state()
    body = request.get_json(silent=True) or {}
    with state.lock:
        if "auto_settle_cancel" in body:
            state.auto_settle_cancel = bool(body["auto_settle_cancel"])
        return jsonify(auto_settle_cancel=state.auto_settle_cancel)


@bp.get("/_emulator/wechat/v3/stats")
def control_stats() -> Response:
    state = current_state()
    with state.lock:
        stats: dict[str, Any] = {
            name: state.stats[name] for name in ("create", "query", "cancel", "notifies")
        }
        stats["paid"] = dict(state.paid)
    return jsonify(stats)


@bp.get("/_emulator/wechat/v3/bills/<out_bill_no>")
def control_bill(out_bill_no: str) -> tuple[Response, int] | Response:
    state = current_state()
    with state.lock:
        bill = state.bills.get(out_bill_no)
        if bill is None:
            return jsonify(error="no such bill"), 404
        data = asdict(bill)
        data.pop("fingerprint")
        data["times_paid"] = state.paid[out_bill_no]
    return jsonify(data)
