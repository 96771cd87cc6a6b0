"""Payment channels: one `PayChannel` per way a shopper pays, registered by name.

A channel wraps its `payments/` adapter (built by `wxdist.core.gateways`) and speaks in
the shop's terms: start a payment, ask what became of it, close it, refund it, and read
its notifies. Everything that differs between channels (the out_trade_no letter, notify
paths, the answer a notify expects, which gateway states mean paid) lives here; the
payment flow, refunds and the notify endpoints look a channel up by name and call the
interface, and never branch on the name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from flask import Request, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from payments.errors import GatewayRejected, GatewayUnavailable, InvalidNotify
from wxdist.core.clock import SHANGHAI
from wxdist.core.errors import ApiError, GatewayFailed
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.models import Payment

log = logging.getLogger(__name__)

MAX_NOTIFY_BYTES = 64 * 1024


def notify_url(path: str) -> str:
    """The public URL of one of our notify endpoints."""
    return f"{current_app.config['PUBLIC_BASE_URL']}{path}"


@dataclass(frozen=True)
class Checkout:
    """What the mini-program needs to pay: WeChat's wx.requestPayment parameters, or
    Alipay's cashier URL."""

    wechat_params: dict[str, str] | None = None
    alipay_url: str | None = None


@dataclass(frozen=True)
class Queried:
    """The gateway's word on a payment attempt: `paid` (with its transaction and amount),
    `open` (can still be paid: close it), or `ended` (unknown to it, or closed)."""

    state: str  # paid | open | ended
    transaction_id: str | None = None
    amount_fen: int | None = None


@dataclass(frozen=True)
class RefundSent:
    """A refund the gateway accepted: `settled` when its answer is final (else a notify
    settles it later)."""

    gateway_refund_id: str | None
    settled: bool


@dataclass(frozen=True)
class PaidNotify:
    """A verified notify saying an attempt was paid."""

    out_trade_no: str
    transaction_id: str
    amount_fen: int
    payer_id: str | None = None
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundNotify:
    """A verified notify with the final word on a refund."""

    out_refund_no: str
    succeeded: bool
    gateway_refund_id: str | None
    failure: str | None
    amount_fen: int | None


class NotifyRefused(Exception):
    """A notify we do not accept: answered with a failure and `status`, nothing changed."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Reply:
    """The body a gateway expects in answer to a notify."""

    body: str
    mimetype: str


class PayChannel(Protocol):
    """One payment channel. Gateway calls raise GatewayRejected / GatewayUnavailable
    unless said otherwise."""

    name: str  # Payment.channel, Order.pay_channel
    label: LazyString  # for people, in the reader's language (and logs)
    suffix: str  # the out_trade_no letter after the order number
    pay_notify_path: str
    refund_notify_path: str | None  # None: refunds settle synchronously
    # WeChat's 发货信息管理: payments of this channel need their shipping information
    # uploaded (wxdist/shop/shipping_info.py).
    uploads_shipping_info: bool

    def enabled(self) -> bool: ...

    def start(
        self, payment: Payment, subject: str, openid: str, client_ip: str, minutes_left: int
    ) -> Checkout:
        """Open the attempt at the gateway (may commit what it records on `payment`).
        Raises GatewayFailed when the gateway refuses or does not answer."""
        ...

    def query(self, out_trade_no: str) -> Queried: ...

    def close(self, out_trade_no: str) -> bool:
        """Close an open attempt. False if it turned out to be paid meanwhile; raises
        GatewayUnavailable for any other refusal."""
        ...

    def refund(
        self, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int
    ) -> RefundSent: ...

    def parse_pay_notify(self, request: Request) -> PaidNotify | None:
        """A verified payment notify, or None for one saying nothing was paid. Raises
        NotifyRefused."""
        ...

    def parse_refund_notify(self, request: Request) -> RefundNotify:
        """Raises NotifyRefused (also for a channel whose refunds have no notify)."""
        ...

    def reply(self, ok: bool, message: str = "") -> Reply: ...


def _wechat_time(value: str | None) -> datetime | None:
    """WeChat's time_end (yyyyMMddHHmmss, Beijing time) as naive UTC."""
    if not value:
        return None
    try:
        local = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None
    return local.astimezone(UTC).replace(tzinfo=None)


def _wechat_body(request: Request) -> bytes:
    body = request.get_data(cache=False)
    if len(body) > MAX_NOTIFY_BYTES:
        raise NotifyRefused("too large", 413)
    return body


class WeChatChannel:
    """WeChat Pay v2 JSAPI (the mini-program pays in place)."""

    name = "wechat"
    label = _l("WeChat Pay")
    uploads_shipping_info = True
    suffix = "W"
    pay_notify_path = "/notify/wechat/pay"
    refund_notify_path: str | None = "/notify/wechat/refund"

    def enabled(self) -> bool:
        return True

    def start(
        self, payment: Payment, subject: str, openid: str, client_ip: str, minutes_left: int
    ) -> Checkout:
        pay = gateways().wechat_pay
        if payment.prepay_id is None:
            try:
                payment.prepay_id = pay.unified_order_jsapi(
                    out_trade_no=payment.out_trade_no,
                    total_fee=payment.amount_fen,
                    body=subject,
                    openid=openid,
                    notify_url=notify_url(self.pay_notify_path),
                    client_ip=client_ip,
                )
            except GatewayRejected as exc:
                raise GatewayFailed(
                    _("WeChat Pay refused: %(message)s", message=exc.message),
                    code="gateway_rejected",
                ) from None
            except GatewayUnavailable:
                raise GatewayFailed(_("WeChat Pay did not answer; try again")) from None
            db.session.commit()
        return Checkout(wechat_params=pay.jsapi_params(payment.prepay_id))

    def query(self, out_trade_no: str) -> Queried:
        result = gateways().wechat_pay.query_order(out_trade_no)
        if result.trade_state in ("SUCCESS", "REFUND"):
            return Queried("paid", result.transaction_id, result.total_fee)
        if result.trade_state in ("NOTEXIST", "CLOSED"):
            return Queried("ended")
        return Queried("open")

    def close(self, out_trade_no: str) -> bool:
        try:
            gateways().wechat_pay.close_order(out_trade_no)
        except GatewayRejected as exc:
            if exc.code != "ORDERPAID":
                raise GatewayUnavailable(f"closeorder: {exc.message}", exc.code) from None
            return False
        return True

    def refund(
        self, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int
    ) -> RefundSent:
        assert self.refund_notify_path is not None
        result = gateways().wechat_pay.refund(
            out_trade_no=out_trade_no,
            out_refund_no=out_refund_no,
            total_fee=total_fen,
            refund_fee=refund_fen,
            notify_url=notify_url(self.refund_notify_path),
        )
        return RefundSent(result.refund_id, settled=False)  # WeChat's notify settles it

    def parse_pay_notify(self, request: Request) -> PaidNotify | None:
        pay = gateways().wechat_pay
        body = _wechat_body(request)
        try:
            notify = pay.parse_pay_notify(body)
        except InvalidNotify as exc:
            log.warning("refused WeChat pay notify: %s", exc)
            raise NotifyRefused("invalid notify", 400) from None
        config = current_app.config
        if notify.appid != config["WECHAT_APPID"] or notify.mch_id != config["WECHAT_MCH_ID"]:
            log.warning(
                "WeChat notify for appid %s mch %s is not ours", notify.appid, notify.mch_id
            )
            raise NotifyRefused("appid or mch_id mismatch", 400)
        if notify.result_code != "SUCCESS":
            return None  # a failed payment: nothing to record
        return PaidNotify(
            notify.out_trade_no,
            notify.transaction_id,
            notify.total_fee,
            payer_id=notify.openid,
            paid_at=_wechat_time(notify.time_end),
        )

    def parse_refund_notify(self, request: Request) -> RefundNotify:
        pay = gateways().wechat_pay
        body = _wechat_body(request)
        try:
            notify = pay.parse_refund_notify(body)
        except InvalidNotify as exc:
            log.warning("refused WeChat refund notify: %s", exc)
            raise NotifyRefused("invalid notify", 400) from None
        status = notify.refund_status
        if status not in ("SUCCESS", "CHANGE", "REFUNDCLOSE"):
            raise NotifyRefused("unknown refund_status", 400)
        return RefundNotify(
            notify.out_refund_no,
            succeeded=status == "SUCCESS",
            gateway_refund_id=notify.refund_id,
            failure=None if status == "SUCCESS" else f"WeChat refund_status {status}",
            amount_fen=notify.refund_fee,
        )

    def reply(self, ok: bool, message: str = "") -> Reply:
        pay = gateways().wechat_pay
        return Reply(pay.reply_success() if ok else pay.reply_fail(message), "application/xml")


class AlipayChannel:
    """Alipay WAP pay (the mini-program opens Alipay's cashier)."""

    name = "alipay"
    label = _l("Alipay")
    uploads_shipping_info = False
    suffix = "A"
    pay_notify_path = "/notify/alipay"
    refund_notify_path: str | None = None  # Alipay answers a refund at once

    def enabled(self) -> bool:
        return bool(current_app.config["ALIPAY_ENABLED"])

    def start(
        self, payment: Payment, subject: str, openid: str, client_ip: str, minutes_left: int
    ) -> Checkout:
        url = gateways().alipay.wap_pay_url(
            out_trade_no=payment.out_trade_no,
            total_fen=payment.amount_fen,
            subject=subject,
            notify_url=notify_url(self.pay_notify_path),
            timeout_express=f"{minutes_left}m",
        )
        return Checkout(alipay_url=url)

    def query(self, out_trade_no: str) -> Queried:
        result = gateways().alipay.query(out_trade_no)
        if result.trade_status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            return Queried("paid", result.trade_no, result.total_fen)
        if result.trade_status == "WAIT_BUYER_PAY":
            return Queried("open")
        return Queried("ended")

    def close(self, out_trade_no: str) -> bool:
        try:
            gateways().alipay.close(out_trade_no)
        except GatewayRejected as exc:
            if exc.code != "ACQ.TRADE_STATUS_ERROR":
                raise GatewayUnavailable(f"trade.close: {exc.message}", exc.code) from None
            return False
        return True

    def refund(
        self, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int
    ) -> RefundSent:
        result = gateways().alipay.refund(
            out_trade_no=out_trade_no, out_request_no=out_refund_no, refund_fen=refund_fen
        )
        return RefundSent(result.trade_no, settled=True)

    def parse_pay_notify(self, request: Request) -> PaidNotify | None:
        if (request.content_length or 0) > MAX_NOTIFY_BYTES:
            raise NotifyRefused("too large", 413)
        # The whole form, every value of every field: a repeated field is refused, not read
        # by its first value (to_dict() would hide the repeat from the adapter).
        try:
            notify = gateways().alipay.verify_notify(request.form)
        except InvalidNotify as exc:
            log.warning("refused Alipay notify: %s", exc)
            raise NotifyRefused("invalid notify", 400) from None
        if notify.app_id != current_app.config["ALIPAY_APP_ID"]:
            raise NotifyRefused("app_id mismatch", 400)
        if notify.trade_status not in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            return None
        return PaidNotify(
            notify.out_trade_no,
            notify.trade_no,
            notify.total_fen,
            payer_id=notify.raw.get("buyer_id"),
        )

    def parse_refund_notify(self, request: Request) -> RefundNotify:
        raise NotifyRefused("Alipay refunds have no notify", 404)

    def reply(self, ok: bool, message: str = "") -> Reply:
        gateway = gateways().alipay
        return Reply(gateway.reply_success() if ok else gateway.reply_fail(), "text/plain")


_CHANNELS: dict[str, PayChannel] = {c.name: c for c in (WeChatChannel(), AlipayChannel())}


class UnknownChannel(LookupError):
    """No channel is registered by this name."""


def names() -> tuple[str, ...]:
    """The registered channel names, in registration order."""
    return tuple(_CHANNELS)


def all_channels() -> tuple[PayChannel, ...]:
    return tuple(_CHANNELS.values())


def get(name: str) -> PayChannel:
    """The channel called `name`. Raises UnknownChannel."""
    try:
        return _CHANNELS[name]
    except KeyError:
        raise UnknownChannel(name) from None


def find(name: str) -> PayChannel | None:
    """The channel called `name`, or None."""
    return _CHANNELS.get(name)


def require(name: str) -> PayChannel:
    """The channel a shopper asked to pay with, if it is known and enabled. Raises ApiError
    (400) naming the field otherwise."""
    channel = _CHANNELS.get(name)
    if channel is None:
        raise ApiError(
            _("unknown channel"),
            fields={"channel": _("one of %(choices)s", choices=", ".join(_CHANNELS))},
        )
    if not channel.enabled():
        raise ApiError(
            _("%(channel)s is not enabled", channel=channel.label),
            fields={"channel": _("%(channel)s is not enabled", channel=channel.name)},
        )
    return channel
