"""WeChat Pay v2 enterprise payment (企业付款到零钱) via wechatpy.

`WeChatTransferV2` is `WeChatPayV2` (same client, keys and base URL) plus `transfer` and
`query_transfer`. It needs the merchant's client certificate (WECHAT_PAY_CERT_PATH and
WECHAT_PAY_KEY_PATH) against the real gateway; the emulator asks for none.

WeChat does not sign these two answers (the channel is TLS with the client certificate), so
an answer without `sign` is accepted; one that carries a `sign` must carry the right one.

Errors follow WeChat's rules for this API, where a wrong guess pays twice:

- `GatewayUnavailable`: timeout, connection error, HTTP error, an unreadable or wrongly
  signed answer, and the err_codes that leave the result unknown: SYSTEMERROR, SEND_FAILED,
  FATAL_ERROR (this number was used before with other parameters) and any err_code not
  listed in `DEFINITE_TRANSFER_CODES` (WeChat: "a new error code: do not change the number,
  ask"). Settle it with `query_transfer` or a repeat with the same partner_trade_no and the
  same parameters, never with a new number;
- `GatewayRejected`: a definite refusal; nothing was paid (`code` is the err_code, e.g.
  NOTENOUGH, AMOUNT_LIMIT, NAME_MISMATCH, OPENID_ERROR, V2_ACCOUNT_SIMPLE_BAN, PARAM_ERROR,
  SENDNUM_LIMIT; or the return_code of a protocol refusal such as a bad request signature).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wechatpy.exceptions import WeChatPayException

from payments.errors import GatewayRejected, GatewayUnavailable
from payments.wechat_pay import WeChatPayV2, _int, _parse_flat_xml

CHECK_NAMES = ("NO_CHECK", "FORCE_CHECK")
TRANSFER_STATUSES = ("SUCCESS", "FAILED", "PROCESSING")
# err_codes that WeChat documents as a definite "not paid" for promotion/transfers.
DEFINITE_TRANSFER_CODES = frozenset(
    {
        "NO_AUTH",
        "AMOUNT_LIMIT",
        "PARAM_ERROR",
        "OPENID_ERROR",
        "NOTENOUGH",
        "NAME_MISMATCH",
        "SIGN_ERROR",
        "XML_ERROR",
        "FREQ_LIMIT",
        "MONEY_LIMIT",
        "CA_ERROR",
        "V2_ACCOUNT_SIMPLE_BAN",
        "PARAM_IS_NOT_UTF8",
        "SENDNUM_LIMIT",
        "SENDAMOUNT_LIMIT",
        "RECV_ACCOUNT_NOT_ALLOWED",
        "PAY_CHANNEL_NOT_ALLOWED",
        "PAYEE_ACCOUNT_ABNORMAL",
        "PAYER_ACCOUNT_ABNORMAL",
        "EXCEED_PAYEE_ACCOUNT_LIMIT",
    }
)
# err_codes of gettransferinfo that refuse the query itself (they say nothing of the payment).
DEFINITE_QUERY_CODES = frozenset(
    {"NOT_FOUND", "PARAM_ERROR", "NO_AUTH", "SIGN_ERROR", "XML_ERROR", "FREQ_LIMIT", "CA_ERROR"}
)


@dataclass(frozen=True)
class TransferResult:
    """A payment made: the money is in the user's balance (零钱)."""

    payment_no: str
    payment_time: str | None  # "YYYY-MM-DD HH:MM:SS", China time


@dataclass(frozen=True)
class TransferQuery:
    """A payment as gettransferinfo tells it. `status`: SUCCESS, FAILED (`reason` says why),
    PROCESSING, or NOTFOUND. WeChat warns that NOTFOUND shortly after an unknown result
    does not prove the payment failed: look again later, or repeat the transfer with the
    same partner_trade_no and parameters (it cannot pay twice)."""

    status: str
    reason: str | None
    payment_no: str | None
    amount_fen: int | None = None
    payment_time: str | None = None
    raw: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


class WeChatTransferV2(WeChatPayV2):
    """WeChat Pay v2 with enterprise payments, built from the same Flask config as
    `WeChatPayV2`. Raises RuntimeError against the real gateway without the client
    certificate (WECHAT_PAY_CERT_PATH, WECHAT_PAY_KEY_PATH)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        live = config["GATEWAY"] != "emulator"
        if live and not (config.get("WECHAT_PAY_CERT_PATH") and config.get("WECHAT_PAY_KEY_PATH")):
            raise RuntimeError(
                "WeChat Pay v2 transfers need the client certificate: set "
                "WECHAT_PAY_CERT_PATH and WECHAT_PAY_KEY_PATH"
            )

    def transfer(
        self,
        partner_trade_no: str,
        openid: str,
        amount_fen: int,
        desc: str,
        check_name: str,
        real_name: str | None = None,
        *,
        client_ip: str,
    ) -> TransferResult:
        """Pay `amount_fen` into the balance of `openid`, once per partner_trade_no (a
        repeat with the same parameters answers the first payment). `check_name`
        FORCE_CHECK needs `real_name`; NO_CHECK takes none.

        Raises ValueError for malformed arguments (nothing is sent), GatewayRejected for a
        definite refusal, GatewayUnavailable when the result is unknown."""
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
            raise ValueError(f"amount_fen must be a positive int, got {amount_fen!r}")
        if check_name not in CHECK_NAMES:
            raise ValueError(f"check_name must be one of {CHECK_NAMES}, got {check_name!r}")
        if (check_name == "FORCE_CHECK") != bool(real_name):
            raise ValueError("real_name goes with FORCE_CHECK, and only with it")
        for name, value in (
            ("partner_trade_no", partner_trade_no),
            ("openid", openid),
            ("desc", desc),
            ("client_ip", client_ip),  # without it wechatpy would look up our external IP
        ):
            if not value:
                raise ValueError(f"{name} is required")
        fields = self._transfer_call(
            lambda: self._pay.transfer.transfer(
                user_id=openid,
                amount=amount_fen,
                desc=desc,
                client_ip=client_ip,
                check_name=check_name,
                real_name=real_name,
                out_trade_no=partner_trade_no,
            ),
            DEFINITE_TRANSFER_CODES,
        )
        self._check_ids(fields, "mch_appid", "mchid")
        if fields.get("partner_trade_no", partner_trade_no) != partner_trade_no:
            raise GatewayUnavailable("transfers answer is for another partner_trade_no")
        payment_no = fields.get("payment_no")
        if not payment_no:
            raise GatewayUnavailable("transfers answer has no payment_no")
        return TransferResult(payment_no=payment_no, payment_time=fields.get("payment_time"))

    def query_transfer(self, partner_trade_no: str) -> TransferQuery:
        """The payment's status at WeChat (see `TransferQuery`). Raises GatewayRejected when
        WeChat refuses the query (this says nothing of the payment), GatewayUnavailable
        when unsure."""
        try:
            fields = self._transfer_call(
                lambda: self._pay.transfer.query(partner_trade_no), DEFINITE_QUERY_CODES
            )
        except GatewayRejected as exc:
            if exc.code == "NOT_FOUND":
                return TransferQuery("NOTFOUND", None, None)
            raise
        self._check_ids(fields, "appid", "mch_id")
        if fields.get("partner_trade_no", partner_trade_no) != partner_trade_no:
            raise GatewayUnavailable("gettransferinfo answer is for another partner_trade_no")
        status = fields.get("status")
        if status not in TRANSFER_STATUSES:
            raise GatewayUnavailable(f"gettransferinfo answer has status {status!r}")
        amount = _int(fields.get("payment_amount"))
        if fields.get("payment_amount") is not None and amount is None:
            raise GatewayUnavailable("gettransferinfo answer has a malformed payment_amount")
        return TransferQuery(
            status=status,
            reason=fields.get("reason") or None,
            payment_no=fields.get("detail_id") or None,
            amount_fen=amount,
            payment_time=fields.get("payment_time") or None,
            raw=fields,
        )

    # ------------------------------------------------------------------ internals
    def _check_ids(self, fields: Mapping[str, str], appid_field: str, mch_field: str) -> None:
        if fields.get(appid_field, self.appid) != self.appid:
            raise GatewayUnavailable(f"answer for another {appid_field}")
        if fields.get(mch_field, self.mch_id) != self.mch_id:
            raise GatewayUnavailable(f"answer for another {mch_field}")

    def _sign_absent_or_ok(self, fields: Mapping[str, str]) -> bool:
        return "sign" not in fields or self._sign_ok(fields, fields.get("sign_type") or "MD5")

    def _transfer_call(self, fn: Callable[[], Any], definite: frozenset[str]) -> dict[str, str]:
        """Run a wechatpy transfer call; map failures with the `definite` err_codes."""
        fields = self._answer(fn, lambda exc: self._map_transfer_exception(exc, definite))
        if not self._sign_absent_or_ok(fields):
            raise GatewayUnavailable("WeChat Pay answer has a bad sign")
        return fields

    def _map_transfer_exception(
        self, exc: WeChatPayException, definite: frozenset[str]
    ) -> Exception:
        if exc.return_code is None:
            status = getattr(exc.response, "status_code", None)
            return GatewayUnavailable(f"WeChat Pay answered HTTP {status}")
        try:
            fields = _parse_flat_xml(exc.response.text)
        except (ValueError, AttributeError):
            return GatewayUnavailable("unreadable WeChat Pay failure answer")
        if not self._sign_absent_or_ok(fields):
            return GatewayUnavailable("WeChat Pay failure answer has a bad sign")
        code = fields.get("err_code")
        message = fields.get("err_code_des") or fields.get("return_msg") or code or "FAIL"
        if code:
            # WeChat sometimes sends SYSTEMERROR with return_code FAIL: the code decides.
            if code in definite:
                return GatewayRejected(message, code=code)
            return GatewayUnavailable(f"result unknown ({code}): {message}", code=code)
        if fields.get("return_code") != "SUCCESS":
            # Protocol refusal (signature, format, certificate): nothing was processed.
            return GatewayRejected(message, code=fields.get("return_code") or "FAIL")
        return GatewayUnavailable("result_code FAIL without an err_code")
