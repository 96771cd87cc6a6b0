"""Merchant transfer bills under `/v3/fund-app/mch-transfer/transfer-bills`: create,
query by either number, cancel (settled to CANCELLED shortly after unless turned off).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from typing import Any

from flask import Blueprint, Response, request

from payments.emulator.wechat_v3.protocol import (
    CANCEL_SETTLE_DELAY_SECONDS,
    CANCELABLE_STATES,
    MAX_AMOUNT_FEN,
    MIN_AMOUNT_FEN,
    NAME_REQUIRED_FROM_FEN,
    china_now,
    random_digits,
    rfc3339,
)
from payments.emulator.wechat_v3.state import Bill, WeChatV3State, current_state
from payments.emulator.wechat_v3.wire import (
    V3Error,
    answer_v3_error,
    json_answer,
    read_create,
    take_fail,
    v3_error,
    verify_authorization,
)

PREFIX = "/v3/fund-app/mch-transfer/transfer-bills"
bp = Blueprint("emulator_wechat_v3_bills", __name__)
bp.register_error_handler(V3Error, answer_v3_error)


@bp.post(PREFIX)
def create_bill() -> Response:
    state = current_state()
    state.count("create")
    verify_authorization()
    take_fail()
    f = read_create(request.get_json(silent=True))
    amount = f["transfer_amount"]
    if f["openid"].startswith("invalid"):
        raise v3_error(400, "PARAM_ERROR", "openid与appid不匹配")
    if amount < MIN_AMOUNT_FEN:
        raise v3_error(400, "PARAM_ERROR", "转账金额不能低于0.1元")
    if amount > MAX_AMOUNT_FEN:
        raise v3_error(400, "PARAM_ERROR", "转账金额超出单笔限额")
    if amount >= NAME_REQUIRED_FROM_FEN and not f["user_name"]:
        raise v3_error(400, "PARAM_ERROR", "转账金额>=2000元时user_name必填")
    fingerprint = (
        f["openid"],
        amount,
        f["transfer_remark"],
        f["user_name"],
        f["transfer_scene_id"],
    )
    with state.lock:
        bill = state.bills.get(f["out_bill_no"])
        if bill is not None:
            if bill.fingerprint != fingerprint:
                raise v3_error(400, "INVALID_REQUEST", "商户单号已存在，请求参数与原单不一致")
            return json_answer(bill.answer())
        now = rfc3339(china_now())
        bill = Bill(
            out_bill_no=f["out_bill_no"],
            transfer_bill_no="1330"
            + state.settings.wechat_mch_id[-10:].rjust(10, "0")
            + china_now().strftime("%Y%m%d")
            + random_digits(18),
            appid=f["appid"],
            openid=f["openid"],
            transfer_amount=amount,
            transfer_remark=f["transfer_remark"],
            user_name=f["user_name"],
            notify_url=f["notify_url"],
            transfer_scene_id=f["transfer_scene_id"],
            user_recv_perception=f.get("user_recv_perception"),
            fingerprint=fingerprint,
            package_info=base64.b64encode(secrets.token_bytes(48)).decode(),
            create_time=now,
            update_time=now,
        )
        state.bills[bill.out_bill_no] = bill
        return json_answer(bill.answer())


def query_answer(bill: Bill | None) -> Response:
    if bill is None:
        raise v3_error(404, "NOT_FOUND", "记录不存在")
    s = current_state().settings
    with current_state().lock:
        data: dict[str, Any] = {
            "mch_id": s.wechat_mch_id,
            "out_bill_no": bill.out_bill_no,
            "transfer_bill_no": bill.transfer_bill_no,
            "appid": bill.appid,
            "state": bill.state,
            "transfer_amount": bill.transfer_amount,
            "transfer_remark": bill.transfer_remark,
            "openid": bill.openid,
            "create_time": bill.create_time,
            "update_time": bill.update_time,
        }
        if bill.fail_reason:
            data["fail_reason"] = bill.fail_reason
    return json_answer(data)


@bp.get(f"{PREFIX}/out-bill-no/<out_bill_no>")
def query_by_out_bill_no(out_bill_no: str) -> Response:
    state = current_state()
    state.count("query")
    verify_authorization()
    take_fail()
    return query_answer(state.find(out_bill_no=out_bill_no))


@bp.get(f"{PREFIX}/transfer-bill-no/<transfer_bill_no>")
def query_by_transfer_bill_no(transfer_bill_no: str) -> Response:
    state = current_state()
    state.count("query")
    verify_authorization()
    take_fail()
    return query_answer(state.find(transfer_bill_no=transfer_bill_no))


@bp.post(f"{PREFIX}/out-bill-no/<out_bill_no>/cancel")
def cancel_bill(out_bill_no: str) -> Response:
    state = current_state()
    state.count("cancel")
    verify_authorization()
    take_fail()
    with state.lock:
        bill = state.bills.get(out_bill_no)
        if bill is None:
            raise v3_error(404, "NOT_FOUND", "记录不存在")
        if bill.state not in (*CANCELABLE_STATES, "CANCELING", "CANCELLED"):
            raise v3_error(400, "INVALID_REQUEST", f"单据状态为{bill.state}，不允许撤销")
        settle = bill.state in CANCELABLE_STATES and state.auto_settle_cancel
        if bill.state in CANCELABLE_STATES:
            bill.state = "CANCELING"
            bill.package_info = None
            bill.update_time = rfc3339(china_now())
        answer = {
            "out_bill_no": bill.out_bill_no,
            "transfer_bill_no": bill.transfer_bill_no,
            "state": bill.state,
            "update_time": bill.update_time,
        }
    if settle:
        threading.Thread(
            target=settle_cancel_later,
            args=(state, out_bill_no),
            name="emulator-v3-cancel",
            daemon=True,
        ).start()
    return json_answer(answer)


def settle_cancel_later(state: WeChatV3State, out_bill_no: str) -> None:
    time.sleep(CANCEL_SETTLE_DELAY_SECONDS)
    bill, why = state.finish(out_bill_no, "CANCELLED", ("CANCELING",))
    if bill is not None and why is None:
        state.post_notify(bill)
