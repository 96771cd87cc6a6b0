"""WeChat's message push (消息推送) to `/notify/wechat/message`: verification and events.

GET is the URL check of the console: `signature` = sha1 of the sorted token, timestamp and
nonce; the answer echoes `echostr`. POST carries an event in safe mode: the query has
`signature`, `timestamp`, `nonce`, `encrypt_type=aes` and `msg_signature` (sha1 over the
token, timestamp, nonce and the ciphertext); the body, JSON `{"ToUserName", "Encrypt"}` or
the same in XML, is decrypted with the EncodingAESKey through wechatpy's `WeChatCrypto`
(which also checks the appid inside). Anything that fails is refused before any of it is
read: the push is untrusted input.

Events: `trade_manage_remind_shipping` (WeChat reminds us to upload the shipping of a
payment) is recorded; `trade_manage_order_settlement` completes the order if it is still
shipped; any other event is recorded and answered.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import logging
import struct
import time
from collections.abc import Mapping
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from flask import current_app
from sqlalchemy import or_, select
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from wxdist.core.extensions import db
from wxdist.models import Payment, WechatPushEvent
from wxdist.shop import completion, shipping_info

log = logging.getLogger(__name__)

MAX_PUSH_BYTES = 64 * 1024
MAX_CLOCK_SKEW_SECONDS = 3600
REMIND_SHIPPING = "trade_manage_remind_shipping"
ORDER_SETTLEMENT = "trade_manage_order_settlement"


class PushRefused(Exception):
    """The push is not WeChat's or cannot be read; nothing of it was processed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _check_signature(args: Mapping[str, str]) -> None:
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    given = args.get("signature", "")
    if not (timestamp and nonce and given):
        raise PushRefused(403, "signature, timestamp and nonce are required")
    expected = _signature(current_app.config["WECHAT_MESSAGE_TOKEN"], timestamp, nonce)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise PushRefused(403, "wrong signature")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise PushRefused(403, "stale or malformed timestamp")


def verify_url(args: Mapping[str, str]) -> str:
    """The console's URL check: `echostr` when the signature holds. Raises PushRefused."""
    _check_signature(args)
    echo = args.get("echostr", "")
    if not echo or len(echo) > 128:
        raise PushRefused(400, "echostr is required")
    return echo


def _parse(text: str | bytes) -> dict[str, Any]:
    """A JSON object or an `<xml>` document as a dict. Raises PushRefused."""
    raw = text.decode() if isinstance(text, bytes) else text
    try:
        if raw.lstrip().startswith("{"):
            found = json.loads(raw)
        else:
            found = xmltodict.parse(raw, disable_entities=True).get("xml")
    except (ValueError, ExpatError, AttributeError):
        raise PushRefused(400, "the body is neither a JSON object nor <xml>") from None
    if not isinstance(found, dict):
        raise PushRefused(400, "the body is neither a JSON object nor <xml>")
    return found


def open_push(args: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The decrypted message of a safe-mode push. Raises PushRefused (403: signatures;
    400: a body that is not an encrypted message of our app)."""
    _check_signature(args)
    msg_signature = args.get("msg_signature", "")
    if args.get("encrypt_type") != "aes" or not msg_signature:
        raise PushRefused(403, "only safe mode (encrypt_type=aes, msg_signature) is accepted")
    if len(body) > MAX_PUSH_BYTES:
        raise PushRefused(413, "too large")
    try:
        envelope = _parse(body)
    except UnicodeDecodeError:
        raise PushRefused(400, "the body is not UTF-8") from None
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise PushRefused(400, "no Encrypt field")
    config = current_app.config
    crypto = WeChatCrypto(
        config["WECHAT_MESSAGE_TOKEN"], config["WECHAT_MESSAGE_AES_KEY"], config["WECHAT_APPID"]
    )
    try:
        plain = crypto.decrypt_message(
            {"Encrypt": encrypted}, msg_signature, args["timestamp"], args["nonce"]
        )
    except InvalidSignatureException:
        raise PushRefused(403, "wrong msg_signature") from None
    except InvalidAppIdException:
        raise PushRefused(403, "encrypted for another app") from None
    except (ValueError, TypeError, IndexError, struct.error, binascii.Error):
        raise PushRefused(400, "the ciphertext does not decrypt") from None
    return _parse(plain)


def _text(message: Mapping[str, Any], name: str) -> str | None:
    value = message.get(name)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)[:64] or None


def _payment_order(transaction_id: str | None, out_trade_no: str | None) -> int | None:
    conditions = []
    if transaction_id:
        conditions.append(Payment.transaction_id == transaction_id)
    if out_trade_no:
        conditions.append(Payment.out_trade_no == out_trade_no)
    if not conditions:
        return None
    # out_trade_no is unique; a transaction id is WeChat's, which this push is about.
    return db.session.scalar(select(Payment.order_id).where(or_(*conditions)).limit(1))


def _settle(message: Mapping[str, Any], order_id: int | None) -> str:
    merchant = _text(message, "merchant_id")
    if merchant and merchant != current_app.config["WECHAT_MCH_ID"]:
        log.warning("settlement push for another merchant %s ignored", merchant)
        return "foreign_merchant"
    if order_id is None:
        log.warning("settlement push for an unknown payment: %s", _text(message, "transaction_id"))
        return "unknown_payment"
    if completion.complete_shipped(order_id):
        log.info("order %s completed by WeChat's settlement", order_id)
        return "completed"
    return "not_shipped"


def handle(message: Mapping[str, Any]) -> str:
    """Act on one decrypted push and record it; commits. Returns what was done."""
    event = _text(message, "Event") or _text(message, "MsgType") or "unknown"
    transaction_id = _text(message, "transaction_id")
    trade_no = _text(message, "merchant_trade_no")
    order_id = _payment_order(transaction_id, trade_no)
    hurried: int | None = None  # the payment whose shipping upload a reminder made due
    if event == ORDER_SETTLEMENT:
        outcome = _settle(message, order_id)
    elif event == REMIND_SHIPPING:
        log.warning("WeChat reminds us to ship payment %s (order %s)", transaction_id, order_id)
        hurried = shipping_info.hurry(order_id)
        outcome = "reminded" if hurried is None else "upload_due"
    else:
        log.info("message push event %s logged", event)
        outcome = "logged"
    db.session.add(
        WechatPushEvent(
            event=event,
            transaction_id=transaction_id,
            merchant_trade_no=trade_no,
            order_id=order_id,
            outcome=outcome,
            payload=dict(message),
        )
    )
    db.session.commit()
    if event == REMIND_SHIPPING and hurried is not None:
        shipping_info.queue_upload(hurried)
    return outcome
