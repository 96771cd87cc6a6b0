"""Payment and refund notifies from WeChat Pay and Alipay.

Notifies are untrusted input: each is signature-checked by its adapter, its appid / app_id
and merchant id compared with ours and its amount with the order, and it is answered with
success only after the state change is committed. Anything refused is answered with a
failure and changes nothing (the gateway will send it again if it was genuine).
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, Response, current_app, request

from payments.errors import InvalidNotify
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.shop import payment_flow, refunds

log = logging.getLogger(__name__)

notify_bp = Blueprint("notify", __name__, url_prefix="/notify")

MAX_NOTIFY_BYTES = 64 * 1024


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="application/xml")


def _wechat_time(value: str | None) -> datetime | None:
    """WeChat's time_end (yyyyMMddHHmmss, Beijing time) as naive UTC."""
    if not value:
        return None
    from datetime import UTC

    from wxdist.core.clock import SHANGHAI

    try:
        local = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None
    return local.astimezone(UTC).replace(tzinfo=None)


@notify_bp.post("/wechat/pay")
def wechat_pay():  # type: ignore[no-untyped-def]
    pay = gateways().wechat_pay
    body = request.get_data(cache=False)
    if len(body) > MAX_NOTIFY_BYTES:
        return _xml(pay.reply_fail("too large"), 413)
    try:
        notify = pay.parse_pay_notify(body)
    except InvalidNotify as exc:
        log.warning("refused WeChat pay notify: %s", exc)
        return _xml(pay.reply_fail("invalid notify"), 400)
    config = current_app.config
    if notify.appid != config["WECHAT_APPID"] or notify.mch_id != config["WECHAT_MCH_ID"]:
        log.warning("WeChat notify for appid %s mch %s is not ours", notify.appid, notify.mch_id)
        return _xml(pay.reply_fail("appid or mch_id mismatch"), 400)
    if notify.result_code != "SUCCESS":
        return _xml(pay.reply_success())  # a failed payment: nothing to record
    try:
        payment_flow.apply_payment(
            "wechat",
            notify.out_trade_no,
            notify.transaction_id,
            notify.total_fee,
            payer_id=notify.openid,
            paid_at=_wechat_time(notify.time_end),
        )
    except payment_flow.UnknownPayment:
        return _xml(pay.reply_fail("unknown out_trade_no"), 404)
    except payment_flow.PaymentMismatch as exc:
        log.error("WeChat notify refused: %s", exc)
        return _xml(pay.reply_fail("amount mismatch"), 400)
    return _xml(pay.reply_success())


@notify_bp.post("/wechat/refund")
def wechat_refund():  # type: ignore[no-untyped-def]
    pay = gateways().wechat_pay
    body = request.get_data(cache=False)
    if len(body) > MAX_NOTIFY_BYTES:
        return _xml(pay.reply_fail("too large"), 413)
    try:
        notify = pay.parse_refund_notify(body)
    except InvalidNotify as exc:
        log.warning("refused WeChat refund notify: %s", exc)
        return _xml(pay.reply_fail("invalid notify"), 400)
    status = notify.refund_status
    if status not in ("SUCCESS", "CHANGE", "REFUNDCLOSE"):
        return _xml(pay.reply_fail("unknown refund_status"), 400)
    try:
        refunds.settle_refund(
            notify.out_refund_no,
            succeeded=status == "SUCCESS",
            gateway_refund_id=notify.refund_id,
            failure=None if status == "SUCCESS" else f"WeChat refund_status {status}",
            amount_fen=notify.refund_fee,
        )
    except ApiError as exc:
        db.session.rollback()
        log.error("WeChat refund notify refused: %s", exc.message)
        return _xml(pay.reply_fail(exc.message), exc.status)
    return _xml(pay.reply_success())


@notify_bp.post("/alipay")
def alipay():  # type: ignore[no-untyped-def]
    gateway = gateways().alipay
    if (request.content_length or 0) > MAX_NOTIFY_BYTES:
        return Response(gateway.reply_fail(), status=413, mimetype="text/plain")
    # The whole form, every value of every field: a repeated field is refused, not read
    # by its first value (to_dict() would hide the repeat from the adapter).
    try:
        notify = gateway.verify_notify(request.form)
    except InvalidNotify as exc:
        log.warning("refused Alipay notify: %s", exc)
        return Response(gateway.reply_fail(), status=400, mimetype="text/plain")
    if notify.app_id != current_app.config["ALIPAY_APP_ID"]:
        return Response(gateway.reply_fail(), status=400, mimetype="text/plain")
    if notify.trade_status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        try:
            payment_flow.apply_payment(
                "alipay",
                notify.out_trade_no,
                notify.trade_no,
                notify.total_fen,
                payer_id=notify.raw.get("buyer_id"),
            )
        except payment_flow.UnknownPayment:
            return Response(gateway.reply_fail(), status=404, mimetype="text/plain")
        except payment_flow.PaymentMismatch as exc:
            log.error("Alipay notify refused: %s", exc)
            return Response(gateway.reply_fail(), status=400, mimetype="text/plain")
    return Response(gateway.reply_success(), mimetype="text/plain")


@notify_bp.post("/wechat/transfer")
def wechat_transfer():  # type: ignore[no-untyped-def]
    """WeChat Pay v3 merchant-transfer notify: signed headers, AES-GCM resource. WeChat
    expects HTTP 200/204 for success and a JSON {code, message} otherwise."""
    from wxdist.money.payouts import GatewayState, apply_transfer_notify, bill_state

    body = request.get_data(cache=False)
    if len(body) > MAX_NOTIFY_BYTES:
        return {"code": "FAIL", "message": "too large"}, 413
    try:
        bill = gateways().wechat_transfer_v3.parse_notify(dict(request.headers), body)
    except InvalidNotify as exc:
        log.warning("refused WeChat transfer notify: %s", exc)
        return {"code": "FAIL", "message": "invalid notify"}, 400
    state: GatewayState = bill_state(bill)
    if not apply_transfer_notify(bill.out_bill_no, state):
        return {"code": "FAIL", "message": "unknown out_bill_no"}, 404
    return Response(status=204)
