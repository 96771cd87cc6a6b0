"""Enterprise payments (企业付款到零钱): `/mmpaymkttransfers/promotion/transfers` and
`/mmpaymkttransfers/gettransferinfo`, answered unsigned as WeChat answers them.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response

from payments.emulator.wechat.protocol import (
    BUSY,
    TRANSFER_CHECK_NAMES,
    TRANSFER_MAX_FEN,
    TRANSFER_MIN_FEN,
    WRONG_NAME,
    china_now,
    random_digits,
)
from payments.emulator.wechat.state import Transfer, WeChatState, current_state
from payments.emulator.wechat.wire import (
    ProtocolFail,
    answer_protocol_fail,
    int_field,
    protocol_fail,
    read_pay_request,
    take_fail,
    transfer_answer,
    transfer_fail,
    unsigned_answer,
)

bp = Blueprint("emulator_wechat_transfer", __name__)
bp.register_error_handler(ProtocolFail, answer_protocol_fail)


@bp.post("/mmpaymkttransfers/promotion/transfers")
def transfers() -> Response:
    """企业付款到零钱, idempotent by partner_trade_no: a repeat with the same parameters
    answers the first payment again, with other parameters FATAL_ERROR. A refused payment
    leaves nothing behind, so its number can be tried again."""
    state = current_state()
    state.count("transfers")
    req = read_pay_request(
        state,
        ("nonce_str", "partner_trade_no", "openid", "check_name", "amount", "desc"),
        mch_field="mchid",
        appid_field="mch_appid",
    )
    if req.sign_type != "MD5":
        protocol_fail("签名类型错误 (enterprise payments are signed with MD5)")
    amount = int_field(req, "amount")
    f = req.fields
    fault = take_fail()
    if fault is not None:
        return transfer_fail(fault.code, fault.message)
    armed = state.take_transfer_systemerror()
    if armed is not None and not armed.paid:
        return transfer_fail("SYSTEMERROR", BUSY, "FAIL" if armed.return_fail else "SUCCESS")
    answer = make_transfer(state, f, amount)
    if armed is not None:
        return transfer_fail("SYSTEMERROR", BUSY, "FAIL" if armed.return_fail else "SUCCESS")
    return answer


@bp.post("/mmpaymkttransfers/gettransferinfo")
def gettransferinfo() -> Response:
    state = current_state()
    state.count("gettransferinfo")
    req = read_pay_request(state, ("nonce_str", "partner_trade_no"))
    fault = take_fail()
    s = state.settings
    ids = {"appid": s.wechat_appid, "mch_id": s.wechat_mch_id}
    if fault is not None:
        return unsigned_answer(
            {
                "return_code": "SUCCESS",
                "result_code": "FAIL",
                "err_code": fault.code,
                "err_code_des": fault.message,
                **ids,
            }
        )
    with state.lock:
        transfer = state.transfers.get(req.fields["partner_trade_no"])
        if transfer is None:
            return unsigned_answer(
                {
                    "return_code": "SUCCESS",
                    "return_msg": "获取失败",
                    "result_code": "FAIL",
                    "err_code": "NOT_FOUND",
                    "err_code_des": "指定单号数据不存在",
                    **ids,
                }
            )
        return unsigned_answer(
            {
                "return_code": "SUCCESS",
                "return_msg": "获取成功",
                "result_code": "SUCCESS",
                **ids,
                "partner_trade_no": transfer.partner_trade_no,
                "detail_id": transfer.payment_no,
                "status": transfer.status,
                "reason": transfer.reason,
                "openid": transfer.openid,
                "transfer_name": transfer.re_user_name,
                "payment_amount": transfer.amount,
                "transfer_time": transfer.payment_time,
                "payment_time": transfer.payment_time,
                "desc": transfer.desc,
            }
        )


def make_transfer(state: WeChatState, f: Mapping[str, str], amount: int) -> Response:
    """Make (or find again) the payment a verified transfers request asks for."""
    check_name = f["check_name"]
    if check_name not in TRANSFER_CHECK_NAMES:
        return transfer_fail("PARAM_ERROR", "check_name参数错误 (NO_CHECK or FORCE_CHECK)")
    name = f.get("re_user_name") if check_name == "FORCE_CHECK" else None
    if check_name == "FORCE_CHECK" and not name:
        return transfer_fail("PARAM_ERROR", "收款用户姓名不能为空 (re_user_name)")
    fingerprint = (f["openid"], amount, check_name, name, f["desc"])
    with state.lock:
        transfer = state.transfers.get(f["partner_trade_no"])
        if transfer is not None:
            if transfer.fingerprint != fingerprint:
                return transfer_fail("FATAL_ERROR", "已存在该单，并且订单信息不一致")
        else:
            if f["openid"].startswith("invalid"):
                return transfer_fail("OPENID_ERROR", "Openid格式错误或者不属于商家公众账号")
            if amount < TRANSFER_MIN_FEN:
                return transfer_fail("AMOUNT_LIMIT", "付款金额不能小于最低限额")
            if amount > TRANSFER_MAX_FEN:
                return transfer_fail("AMOUNT_LIMIT", "付款金额超出限制")
            if name == WRONG_NAME:
                return transfer_fail("NAME_MISMATCH", "真实姓名不一致")
            now = china_now()
            transfer = Transfer(
                partner_trade_no=f["partner_trade_no"],
                payment_no="1000018301" + now.strftime("%Y%m%d") + random_digits(10),
                openid=f["openid"],
                amount=amount,
                desc=f["desc"],
                check_name=check_name,
                re_user_name=name,
                payment_time=now.strftime("%Y-%m-%d %H:%M:%S"),
                fingerprint=fingerprint,
            )
            state.transfers[transfer.partner_trade_no] = transfer
            state.transfers_paid[transfer.partner_trade_no] += 1
        return transfer_answer(
            {
                "result_code": "SUCCESS",
                "partner_trade_no": transfer.partner_trade_no,
                "payment_no": transfer.payment_no,
                "payment_time": transfer.payment_time,
            }
        )
