"""Payment and refund notifies from the payment channels, and WeChat's transfer notify.

Notifies are untrusted input: each is signature-checked by its channel's adapter, its
appid / app_id and merchant id compared with ours and its amount with the order, and it is
answered with success only after the state change is committed. Anything refused is
answered with a failure and changes nothing (the gateway will send it again if it was
genuine). Each registered channel gets its routes at the paths it names.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from payments.errors import InvalidNotify
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.money import payouts, rails
from wxdist.shop import channels, payment_flow, refunds
from wxdist.shop.channels import MAX_NOTIFY_BYTES, NotifyRefused, PayChannel

log = logging.getLogger(__name__)

PREFIX = "/notify"
notify_bp = Blueprint("notify", __name__, url_prefix=PREFIX)


def _reply(channel: PayChannel, ok: bool, message: str = "", status: int = 200) -> Response:
    answer = channel.reply(ok, message)
    return Response(answer.body, status=status, mimetype=answer.mimetype)


def pay_notify(name: str) -> Response:
    """A channel's payment notify: record the payment, then answer."""
    channel = channels.get(name)
    try:
        paid = channel.parse_pay_notify(request)
    except NotifyRefused as exc:
        return _reply(channel, False, exc.message, exc.status)
    if paid is not None:
        try:
            payment_flow.apply_payment(
                channel.name,
                paid.out_trade_no,
                paid.transaction_id,
                paid.amount_fen,
                payer_id=paid.payer_id,
                paid_at=paid.paid_at,
            )
        except payment_flow.UnknownPayment:
            return _reply(channel, False, "unknown out_trade_no", 404)
        except payment_flow.PaymentMismatch as exc:
            log.error("%s notify refused: %s", channel.label, exc)
            return _reply(channel, False, "amount mismatch", 400)
    return _reply(channel, True)


def refund_notify(name: str) -> Response:
    """A channel's refund notify: settle the refund, then answer."""
    channel = channels.get(name)
    try:
        settled = channel.parse_refund_notify(request)
        refunds.settle_refund(
            settled.out_refund_no,
            succeeded=settled.succeeded,
            gateway_refund_id=settled.gateway_refund_id,
            failure=settled.failure,
            amount_fen=settled.amount_fen,
        )
    except NotifyRefused as exc:
        return _reply(channel, False, exc.message, exc.status)
    except ApiError as exc:
        db.session.rollback()
        log.error("%s refund notify refused: %s", channel.label, exc.message)
        return _reply(channel, False, exc.message, exc.status)
    return _reply(channel, True)


def transfer_notify(name: str) -> Response | tuple[dict[str, str], int]:
    """A payout rail's transfer notify (WeChat Pay v3: signed headers, AES-GCM resource).
    WeChat expects HTTP 200/204 for success and a JSON {code, message} otherwise."""
    body = request.get_data(cache=False)
    if len(body) > MAX_NOTIFY_BYTES:
        return {"code": "FAIL", "message": "too large"}, 413
    rail = rails.by_name(name)
    try:
        payout_no, state = rail.parse_notify(dict(request.headers), body)
    except InvalidNotify as exc:
        log.warning("refused %s transfer notify: %s", rail.label, exc)
        return {"code": "FAIL", "message": "invalid notify"}, 400
    if not payouts.apply_transfer_notify(payout_no, state):
        return {"code": "FAIL", "message": "unknown out_bill_no"}, 404
    return Response(status=204)


def _route_gateways(bp: Blueprint) -> None:
    """A route per notify path the registered channels and rails name."""
    for channel in channels.all_channels():
        bp.add_url_rule(
            channel.pay_notify_path.removeprefix(PREFIX),
            endpoint=f"{channel.name}_pay",
            view_func=pay_notify,
            methods=["POST"],
            defaults={"name": channel.name},
        )
        if channel.refund_notify_path is not None:
            bp.add_url_rule(
                channel.refund_notify_path.removeprefix(PREFIX),
                endpoint=f"{channel.name}_refund",
                view_func=refund_notify,
                methods=["POST"],
                defaults={"name": channel.name},
            )
    for rail in rails.all_rails():
        if rail.notify_path is not None:
            bp.add_url_rule(
                rail.notify_path.removeprefix(PREFIX),
                endpoint=f"{rail.name}_transfer",
                view_func=transfer_notify,
                methods=["POST"],
                defaults={"name": rail.name},
            )


_route_gateways(notify_bp)
