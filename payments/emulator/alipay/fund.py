"""Payout methods: `alipay.fund.trans.uni.transfer` and `alipay.fund.trans.common.query`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response

from payments.emulator.alipay.protocol import (
    FROZEN_PAYEE,
    FUND_INVALID,
    LOGON_ID,
    MISSING_PAYEE,
    OUT_NO,
    TRANSFER_BIZ_SCENE,
    TRANSFER_MAX_FEN,
    TRANSFER_MIN_FEN,
    TRANSFER_PRODUCT_CODE,
    USER_ID,
    WRONG_PAYEE_NAME,
)
from payments.emulator.alipay.state import (
    AlipayEmulatorState,
    EmulatedTransfer,
    TransferRequest,
    china_now,
)
from payments.emulator.alipay.wire import Refusal, biz_str, success_answer
from payments.money import fen_to_yuan, yuan_to_fen


def _transfer_request(biz: Mapping[str, Any], echo: dict[str, str]) -> TransferRequest:
    """Check a payout's biz_content as Alipay does; raise Refusal for a bad one."""

    def text(source: Mapping[str, Any], name: str, required: bool, limit: int) -> str | None:
        try:
            value = biz_str(source, name, required=required, invalid=FUND_INVALID)
        except Refusal as refusal:
            refusal.extra.update(echo)
            raise
        if value is not None and len(value) > limit:
            raise Refusal("40004", FUND_INVALID, f"{name} 过长", **echo)
        return value

    amount_text = text(biz, "trans_amount", True, 32) or ""
    try:
        amount_fen = yuan_to_fen(amount_text)
    except ValueError:
        raise Refusal(
            "40004", FUND_INVALID, f"参数无效: trans_amount={amount_text}", **echo
        ) from None
    if amount_fen < TRANSFER_MIN_FEN:
        raise Refusal("40004", "EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元", **echo)
    if amount_fen > TRANSFER_MAX_FEN:
        raise Refusal("40004", "EXCEED_LIMIT_SM_AMOUNT", "单笔额度超限", **echo)
    if text(biz, "product_code", True, 64) != TRANSFER_PRODUCT_CODE:
        raise Refusal("40004", FUND_INVALID, "product_code 须为 TRANS_ACCOUNT_NO_PWD", **echo)
    if text(biz, "biz_scene", True, 64) != TRANSFER_BIZ_SCENE:
        raise Refusal("40004", FUND_INVALID, f"biz_scene 必须为 {TRANSFER_BIZ_SCENE}", **echo)
    payee = biz.get("payee_info")
    if not isinstance(payee, dict):
        raise Refusal("40004", FUND_INVALID, "缺少参数 payee_info", **echo)
    identity = text(payee, "identity", True, 100) or ""
    identity_type = text(payee, "identity_type", True, 64) or ""
    name = text(payee, "name", False, 64)
    if identity_type == "ALIPAY_LOGON_ID":
        if name is None:
            raise Refusal("40004", FUND_INVALID, "ALIPAY_LOGON_ID 收款方须提供 name", **echo)
    elif identity_type != "ALIPAY_USER_ID":
        raise Refusal("40004", FUND_INVALID, f"不支持的 identity_type {identity_type}", **echo)
    return TransferRequest(
        amount_fen=amount_fen,
        product_code=TRANSFER_PRODUCT_CODE,
        biz_scene=TRANSFER_BIZ_SCENE,
        payee_identity=identity,
        payee_identity_type=identity_type,
        payee_name=name,
        order_title=text(biz, "order_title", True, 128) or "",
        remark=text(biz, "remark", False, 200),
    )


def _check_payee(wanted: TransferRequest, echo: dict[str, str]) -> None:
    """The emulated accounts: raise Refusal for a payee Alipay would refuse."""
    pattern = LOGON_ID if wanted.payee_identity_type == "ALIPAY_LOGON_ID" else USER_ID
    if wanted.payee_identity == MISSING_PAYEE or not pattern.fullmatch(wanted.payee_identity):
        raise Refusal("40004", "PAYEE_NOT_EXIST", "收款账号不存在", **echo)
    if wanted.payee_identity == FROZEN_PAYEE:
        raise Refusal("40004", "PAYEE_ACCOUNT_STATUS_ERROR", "收款方账号异常", **echo)
    if wanted.payee_name == WRONG_PAYEE_NAME:
        raise Refusal(
            "40004", "PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配，请确认姓名是否正确", **echo
        )


def fund_transfer(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    out_biz_no = biz_str(biz, "out_biz_no", required=True, invalid=FUND_INVALID) or ""
    if not OUT_NO.fullmatch(out_biz_no):
        raise Refusal("40004", FUND_INVALID, "out_biz_no 格式错误")
    echo = {"out_biz_no": out_biz_no}
    wanted = _transfer_request(biz, echo)
    with state.lock:
        transfer = state.transfers.get(out_biz_no)
        if transfer is not None:
            if transfer.request != wanted:
                raise Refusal(
                    "40004",
                    "PAYMENT_INFO_INCONSISTENCY",
                    "两次请求商户单号一样，但是参数不一致",
                    **echo,
                )
        else:
            _check_payee(wanted, echo)
            balance = state.merchant_balance_fen
            if balance is not None and balance < wanted.amount_fen:
                raise Refusal("40004", "PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足", **echo)
            order_id, pay_fund_order_id = state.next_transfer_ids()
            transfer = EmulatedTransfer(
                out_biz_no=out_biz_no,
                request=wanted,
                order_id=order_id,
                pay_fund_order_id=pay_fund_order_id,
                trans_date=china_now(),
            )
            state.transfers[out_biz_no] = transfer
            state.transfers_paid[out_biz_no] += 1
            if balance is not None:
                state.merchant_balance_fen = balance - wanted.amount_fen
        return success_answer(
            state,
            "alipay.fund.trans.uni.transfer",
            out_biz_no=transfer.out_biz_no,
            order_id=transfer.order_id,
            pay_fund_order_id=transfer.pay_fund_order_id,
            status=transfer.status,
            trans_date=transfer.trans_date,
        )


def fund_query(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    out_biz_no = biz_str(biz, "out_biz_no", invalid=FUND_INVALID)
    order_id = biz_str(biz, "order_id", invalid=FUND_INVALID)
    pay_fund_order_id = biz_str(biz, "pay_fund_order_id", invalid=FUND_INVALID)
    product_code = biz_str(biz, "product_code", invalid=FUND_INVALID)
    biz_scene = biz_str(biz, "biz_scene", invalid=FUND_INVALID)
    if not (out_biz_no or order_id or pay_fund_order_id):
        raise Refusal("40004", FUND_INVALID, "out_biz_no、order_id、pay_fund_order_id 不能同时为空")
    if out_biz_no and not (product_code and biz_scene):
        raise Refusal("40004", FUND_INVALID, "传入 out_biz_no 时 product_code、biz_scene 必传")
    with state.lock:
        found: EmulatedTransfer | None = None
        if order_id or pay_fund_order_id:  # Alipay's numbers take precedence
            for candidate in state.transfers.values():
                if order_id in (None, candidate.order_id) and pay_fund_order_id in (
                    None,
                    candidate.pay_fund_order_id,
                ):
                    found = candidate
                    break
        elif out_biz_no:
            found = state.transfers.get(out_biz_no)
            if found is not None and (product_code, biz_scene) != (
                found.request.product_code,
                found.request.biz_scene,
            ):
                found = None
        if found is None:
            raise Refusal("40004", "ORDER_NOT_EXIST", "转账订单不存在")
        fields: dict[str, Any] = {
            "order_id": found.order_id,
            "pay_fund_order_id": found.pay_fund_order_id,
            "out_biz_no": found.out_biz_no,
            "trans_amount": fen_to_yuan(found.request.amount_fen),
            "status": found.status,
            "order_fee": "0.00",
        }
        if found.status == "SUCCESS":
            fields["pay_date"] = found.trans_date
            fields["arrival_time_end"] = found.trans_date
        if found.error_code:
            fields["error_code"] = found.error_code
        if found.fail_reason:
            fields["fail_reason"] = found.fail_reason
        return success_answer(state, "alipay.fund.trans.common.query", **fields)
