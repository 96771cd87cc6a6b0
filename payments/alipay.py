"""Alipay adapter: mobile-web (WAP) pay, query, close, refund and async-notify checks.

Runs alipay-sdk-python unchanged (it signs requests with RSA2 and checks the signature of
every answer) against the real gateway or, with `GATEWAY=emulator`, against the gateway
emulator at `EMULATOR_URL`. Amounts go in and come out as integer fen.

Errors: a correctly signed answer with a business failure raises `GatewayRejected` (its
`code` is Alipay's `sub_code`, else `code`); no trustworthy answer (connection error,
timeout, HTTP error, bad or unsigned answer, "system error, retry") raises
`GatewayUnavailable`: the operation may have happened, settle it with `query`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.domain.AlipayTradeCloseModel import AlipayTradeCloseModel
from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
from alipay.aop.api.domain.AlipayTradeRefundModel import AlipayTradeRefundModel
from alipay.aop.api.domain.AlipayTradeWapPayModel import AlipayTradeWapPayModel
from alipay.aop.api.request.AlipayTradeCloseRequest import AlipayTradeCloseRequest
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest
from alipay.aop.api.request.AlipayTradeWapPayRequest import AlipayTradeWapPayRequest
from alipay.aop.api.response.AlipayTradeCloseResponse import AlipayTradeCloseResponse
from alipay.aop.api.response.AlipayTradeQueryResponse import AlipayTradeQueryResponse
from alipay.aop.api.response.AlipayTradeRefundResponse import AlipayTradeRefundResponse
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from payments import alipay_patch
from payments.errors import GatewayRejected, GatewayUnavailable, InvalidNotify
from payments.money import fen_to_yuan, yuan_to_fen

LIVE_SERVER_URL = "https://openapi.alipay.com/gateway.do"
SUCCESS_CODE = "10000"
# Answers that mean "result unknown, try again / query": never a definite failure.
UNKNOWN_RESULT_CODES = frozenset({"20000"})
UNKNOWN_RESULT_SUB_CODES = frozenset(
    {
        "ACQ.SYSTEM_ERROR",
        "AQC.SYSTEM_ERROR",
        "aop.ACQ.SYSTEM_ERROR",
        "isp.unknow-error",
        "SYSTEM_ERROR",  # the fund.trans (payout) methods' "system busy, result unknown"
    }
)
# Any isp.* sub_code is a platform-side error: it says nothing of the operation's result.
UNKNOWN_RESULT_SUB_CODE_PREFIX = "isp."
NOTIFY_REQUIRED = ("app_id", "out_trade_no", "trade_no", "trade_status", "total_amount")
NOT_EXIST = "NOT_EXIST"


@dataclass(frozen=True)
class TradeQuery:
    """A trade's state: WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED, TRADE_FINISHED, or
    NOT_EXIST when Alipay does not know it (the buyer never opened the cashier)."""

    trade_status: str
    trade_no: str | None
    total_fen: int | None


@dataclass(frozen=True)
class RefundResult:
    """`refund_fen_total` is the trade's cumulative refund; `fund_change` is False when the
    same out_request_no was already refunded (nothing moved this time)."""

    trade_no: str
    refund_fen_total: int
    fund_change: bool


@dataclass(frozen=True)
class AlipayNotify:
    """A verified async notify. The caller still compares app_id, out_trade_no and the
    amount with its own records."""

    app_id: str
    out_trade_no: str
    trade_no: str
    trade_status: str
    total_fen: int
    raw: Mapping[str, str]


def _pkcs1_private_pem(pem: str) -> str:
    """Any PEM RSA private key re-encoded as PKCS#1 ("BEGIN RSA PRIVATE KEY"), the form the
    SDK loads. Raises ValueError if it is not an unencrypted RSA private key."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("ALIPAY_APP_PRIVATE_KEY must be an RSA private key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")


def _load_public_key(pem: str) -> rsa.RSAPublicKey:
    """Load a PEM RSA public key (SubjectPublicKeyInfo or PKCS#1); ValueError otherwise."""
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("ALIPAY_PUBLIC_KEY must be an RSA public key")
    return key


def _spki_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def notify_sign_content(form: Mapping[str, str]) -> str:
    """Alipay's notify string to verify: sorted `k=v` of non-empty fields but sign and
    sign_type, joined by `&`."""
    return "&".join(
        f"{k}={form[k]}" for k in sorted(form) if k not in ("sign", "sign_type") and form[k] != ""
    )


class AlipayGateway:
    """One Alipay app. Thread-safe: the SDK client keeps no per-call state on the instance."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Build from the Flask config (see `config.load_settings`).

        Raises KeyError for a missing setting and ValueError for a malformed key.
        """

        alipay_patch.apply()
        self.app_id: str = config["ALIPAY_APP_ID"]
        self._public_key = _load_public_key(config["ALIPAY_PUBLIC_KEY"])
        if config.get("GATEWAY", "emulator") == "emulator":
            self.server_url = str(config["EMULATOR_URL"]).rstrip("/") + "/gateway.do"
        else:
            self.server_url = LIVE_SERVER_URL
        client_config = AlipayClientConfig()
        client_config.server_url = self.server_url
        client_config.app_id = self.app_id
        client_config.app_private_key = _pkcs1_private_pem(config["ALIPAY_APP_PRIVATE_KEY"])
        client_config.alipay_public_key = _spki_pem(self._public_key)
        client_config.sign_type = "RSA2"
        client_config.charset = "utf-8"
        client_config.format = "json"
        client_config.timeout = int(config.get("GATEWAY_TIMEOUT_SECONDS", 10))
        self._client = DefaultAlipayClient(client_config)

    # -- calls ---------------------------------------------------------------------------

    def _execute(self, request: Any, response: Any, method: str) -> Any:
        """Send `request`, verify and parse the answer into `response` (an SDK response).

        Raises GatewayUnavailable (no trustworthy answer) or GatewayRejected (code != 10000).
        """
        try:
            content = self._client.execute(request)
        except Exception as exc:
            # The SDK's transport raises anything: socket errors and timeouts as they come,
            # TypeError on a non-200 answer (str + bytes), ResponseException on a missing or
            # bad answer signature. None of them tells whether the call took effect.
            raise GatewayUnavailable(f"Alipay {method}: {exc}") from exc
        try:
            response.parse_response_content(content)
        except Exception as exc:  # a signed answer that is not the JSON object we expect
            raise GatewayUnavailable(f"Alipay {method}: unreadable answer: {exc}") from exc
        code = response.code
        if code == SUCCESS_CODE:
            return response
        sub_code = response.sub_code or None
        message = str(response.sub_msg or response.msg or "no message")
        error_code = str(sub_code or code)
        if (
            code in UNKNOWN_RESULT_CODES
            or sub_code in UNKNOWN_RESULT_SUB_CODES
            or error_code.startswith(UNKNOWN_RESULT_SUB_CODE_PREFIX)
        ):
            raise GatewayUnavailable(f"Alipay {method}: {message}", code=error_code)
        raise GatewayRejected(f"Alipay {method}: {message}", code=error_code)

    def wap_pay_url(
        self,
        out_trade_no: str,
        total_fen: int,
        subject: str,
        notify_url: str,
        return_url: str | None = None,
        timeout_express: str = "30m",
    ) -> str:
        """The signed URL of Alipay's mobile-web cashier for this order (no network call).

        Raises ValueError for an amount below one fen.
        """

        if total_fen < 1:
            raise ValueError(f"total_fen must be at least 1, got {total_fen}")
        model = AlipayTradeWapPayModel()
        model.out_trade_no = out_trade_no
        model.total_amount = fen_to_yuan(total_fen)
        model.subject = subject
        model.product_code = "QUICK_WAP_WAY"
        model.timeout_express = timeout_express
        request = AlipayTradeWapPayRequest(biz_model=model)
        request.notify_url = notify_url
        if return_url:
            request.return_url = return_url
        return str(self._client.page_execute(request, http_method="GET"))

    def query(self, out_trade_no: str) -> TradeQuery:
        """The trade's state (trade_status NOT_EXIST if Alipay does not know it).

        Raises GatewayRejected or GatewayUnavailable.
        """

        model = AlipayTradeQueryModel()
        model.out_trade_no = out_trade_no
        try:
            response = self._execute(
                AlipayTradeQueryRequest(biz_model=model),
                AlipayTradeQueryResponse(),
                "alipay.trade.query",
            )
        except GatewayRejected as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":
                return TradeQuery(trade_status=NOT_EXIST, trade_no=None, total_fen=None)
            raise
        _check_echo("alipay.trade.query", response.out_trade_no, out_trade_no)
        if not response.trade_status:
            raise GatewayUnavailable("Alipay alipay.trade.query: answer without trade_status")
        total = response.total_amount
        return TradeQuery(
            trade_status=str(response.trade_status),
            trade_no=str(response.trade_no) if response.trade_no else None,
            total_fen=_answer_fen("alipay.trade.query", total) if total else None,
        )

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid trade so it can no longer be paid. A trade Alipay does not know
        is left alone (nothing to close).

        Raises GatewayRejected (code ACQ.TRADE_STATUS_ERROR when it was paid) or
        GatewayUnavailable.
        """

        model = AlipayTradeCloseModel()
        model.out_trade_no = out_trade_no
        try:
            self._execute(
                AlipayTradeCloseRequest(biz_model=model),
                AlipayTradeCloseResponse(),
                "alipay.trade.close",
            )
        except GatewayRejected as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":
                return
            raise

    def refund(self, out_trade_no: str, out_request_no: str, refund_fen: int) -> RefundResult:
        """Refund part or all of a paid trade. Idempotent by `out_request_no`: the same
        number again refunds nothing more and answers fund_change False.

        Raises ValueError for an amount below one fen, GatewayRejected (e.g.
        ACQ.REASON_TRADE_REFUND_FEE_ERR when refunds would exceed the total) or
        GatewayUnavailable (retry with the same out_request_no, or query).
        """

        if refund_fen < 1:
            raise ValueError(f"refund_fen must be at least 1, got {refund_fen}")
        model = AlipayTradeRefundModel()
        model.out_trade_no = out_trade_no
        model.out_request_no = out_request_no
        model.refund_amount = fen_to_yuan(refund_fen)
        response = self._execute(
            AlipayTradeRefundRequest(biz_model=model),
            AlipayTradeRefundResponse(),
            "alipay.trade.refund",
        )
        _check_echo("alipay.trade.refund", response.out_trade_no, out_trade_no)
        if not response.trade_no or not response.refund_fee:
            raise GatewayUnavailable("Alipay alipay.trade.refund: answer lacks trade_no/refund_fee")
        return RefundResult(
            trade_no=str(response.trade_no),
            refund_fen_total=_answer_fen("alipay.trade.refund", response.refund_fee),
            fund_change=response.fund_change == "Y",
        )

    # -- notifies ------------------------------------------------------------------------

    def verify_notify(self, form: Mapping[str, str]) -> AlipayNotify:
        """Check an async notify's RSA2 signature (Alipay's public key, over sorted `k=v` of
        every non-empty field but sign and sign_type) and shape.

        Does not compare app_id with ours: the caller does, with the order's amount.
        Raises InvalidNotify for a missing or wrong signature, a sign_type other than RSA2,
        a repeated or missing field, or an amount that is not yuan with at most 2 decimals.
        """
        fields: dict[str, str] = {}
        getlist = getattr(form, "getlist", None)
        for name in form:
            if getlist is not None and len(getlist(name)) > 1:
                raise InvalidNotify(f"notify field {name} given more than once")
            value = form[name]
            if not isinstance(value, str):
                raise InvalidNotify(f"notify field {name} is not text")
            fields[name] = value
        sign = fields.get("sign", "")
        if not sign:
            raise InvalidNotify("notify without sign")
        if fields.get("sign_type") != "RSA2":
            raise InvalidNotify(f"notify sign_type must be RSA2, got {fields.get('sign_type')!r}")
        try:
            signature = base64.b64decode(sign, validate=True)
            self._public_key.verify(
                signature,
                notify_sign_content(fields).encode("utf-8"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError) as exc:
            raise InvalidNotify("notify signature does not verify") from exc
        missing = [name for name in NOTIFY_REQUIRED if not fields.get(name)]
        if missing:
            raise InvalidNotify(f"notify lacks {', '.join(missing)}")
        try:
            total_fen = yuan_to_fen(fields["total_amount"])
        except ValueError as exc:
            raise InvalidNotify(f"notify total_amount is malformed: {exc}") from exc
        return AlipayNotify(
            app_id=fields["app_id"],
            out_trade_no=fields["out_trade_no"],
            trade_no=fields["trade_no"],
            trade_status=fields["trade_status"],
            total_fen=total_fen,
            raw=MappingProxyType(fields),
        )

    @staticmethod
    def reply_success() -> str:
        """The body that tells Alipay a notify was handled (stop retrying)."""
        return "success"

    @staticmethod
    def reply_fail() -> str:
        """The body that makes Alipay retry the notify later."""
        return "fail"


def _answer_fen(method: str, amount: Any) -> int:
    """An amount from a signed answer in fen; GatewayUnavailable if it is malformed."""
    try:
        return yuan_to_fen(str(amount))
    except ValueError as exc:
        raise GatewayUnavailable(f"Alipay {method}: malformed amount {amount!r}") from exc


def _check_echo(method: str, echoed: Any, expected: str) -> None:
    """An answer about another trade than asked is not trustworthy."""
    if echoed and echoed != expected:
        raise GatewayUnavailable(f"Alipay {method}: answer for {echoed!r}, asked {expected!r}")
