"""WeChat Pay v3 merchant transfer (商家转账, user-confirmation mode) via `wechatpayv3`.

Merchants onboarded since 2025 pay users this way: `create_bill` makes a transfer bill that
waits for the user (WAIT_USER_CONFIRM, with a `package_info` the mini-program passes to
`wx.requestMerchantTransfer`); the user confirms and WeChat pays (SUCCESS), or the bill
fails (FAIL, `fail_reason`) or is revoked / never confirmed (CANCELING → CANCELLED). The
final state arrives as a notify (`parse_notify`) and can be read with `query_bill`.

The SDK signs requests with the merchant key (WECHAT_PAY_V3_PRIVATE_KEY, certificate serial
WECHAT_PAY_V3_CERT_SERIAL) and verifies every 2xx answer with the platform public key
(public-key mode: WECHAT_PAY_V3_PUBLIC_KEY, WECHAT_PAY_V3_PUBLIC_KEY_ID); notifies are
AES-256-GCM with WECHAT_PAY_V3_APIV3_KEY. Errors:

- `GatewayUnavailable`: timeout, connection error, HTTP 5xx, an answer whose signature does
  not verify, an unreadable answer, or a 4xx that does not name its error: the bill may or
  may not exist. Settle it by `query_bill`, or by `create_bill` again with the same
  out_bill_no and the same parameters (WeChat answers the existing bill; nothing is paid
  twice), never with a new out_bill_no;
- `GatewayRejected`: a 4xx with a WeChat error code (`code`: PARAM_ERROR, INVALID_REQUEST,
  NOT_ENOUGH, NO_AUTH, FREQUENCY_LIMITED, …): this request did nothing. The SDK does not
  verify error answers (nor do WeChat's own SDKs): they are trusted as TLS delivers them.
  An INVALID_REQUEST for an out_bill_no used before with other parameters leaves the first
  bill as it was: query it before treating the payout as failed;
- `InvalidNotify`: a notify whose serial, signature, timestamp, encryption or content is
  wrong.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from wechatpayv3 import WeChatPay, WeChatPayType

from payments.errors import GatewayRejected, GatewayUnavailable, InvalidNotify

LIVE_GATEWAY = "https://api.mch.weixin.qq.com"
STATES = (
    "ACCEPTED",
    "PROCESSING",
    "WAIT_USER_CONFIRM",
    "TRANSFERING",
    "SUCCESS",
    "FAIL",
    "CANCELING",
    "CANCELLED",
)
FINAL_STATES = ("SUCCESS", "FAIL", "CANCELLED")
NOT_FOUND = "NOT_FOUND"
# 4xx error codes that still mean "unknown": WeChat asks to retry these with the same number.
UNKNOWN_RESULT_CODES = frozenset({"SYSTEM_ERROR", "SYSTEMERROR"})
NOTIFY_MAX_SKEW_SECONDS = 300
COMMISSION_SCENE_ID = "1005"  # 佣金报酬
COMMISSION_REPORT_INFOS: tuple[Mapping[str, str], ...] = (
    {"info_type": "岗位类型", "info_content": "分销员"},
    {"info_type": "报酬说明", "info_content": "分销佣金"},
)
_NOTIFY_HEADERS = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)


@dataclass(frozen=True)
class Bill:
    """A transfer bill. `state` is one of `STATES`, or NOT_FOUND from `query_bill` when
    WeChat has no such out_bill_no. `package_info` only while WAIT_USER_CONFIRM and only
    from `create_bill` (queries do not carry it: keep the one create answered; creating
    again with the same parameters answers it again). `amount_fen` comes with queries and
    notifies: compare it with the payout."""

    out_bill_no: str
    transfer_bill_no: str | None
    state: str
    package_info: str | None = None
    fail_reason: str | None = None
    amount_fen: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def _pkcs8(pem: str) -> str:
    """The private key as PKCS#8 PEM, the only form wechatpayv3 reads."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _spki(pem: str) -> str:
    key = serialization.load_pem_public_key(pem.encode())
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class WeChatTransferV3:
    """WeChat Pay v3 merchant transfers for one merchant, built from the Flask config
    (WECHAT_APPID, WECHAT_MCH_ID, WECHAT_PAY_V3_*, GATEWAY, EMULATOR_URL,
    GATEWAY_TIMEOUT_SECONDS). Raises RuntimeError when WECHAT_PAY_V3_ENABLED is off (no v3
    keys against the real gateway) and ValueError for an unreadable key."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not config.get("WECHAT_PAY_V3_ENABLED", True):
            raise RuntimeError("WeChat Pay v3 is not configured (set the WECHAT_PAY_V3_* keys)")
        self.appid: str = config["WECHAT_APPID"]
        self.mch_id: str = config["WECHAT_MCH_ID"]
        self.public_key_id: str = config["WECHAT_PAY_V3_PUBLIC_KEY_ID"]
        self._pay = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=self.mch_id,
            private_key=_pkcs8(config["WECHAT_PAY_V3_PRIVATE_KEY"]),
            cert_serial_no=config["WECHAT_PAY_V3_CERT_SERIAL"],
            appid=self.appid,
            apiv3_key=config["WECHAT_PAY_V3_APIV3_KEY"],
            timeout=float(config["GATEWAY_TIMEOUT_SECONDS"]),
            public_key=_spki(config["WECHAT_PAY_V3_PUBLIC_KEY"]),
            public_key_id=self.public_key_id,
        )
        gateway = LIVE_GATEWAY
        if config["GATEWAY"] == "emulator":
            gateway = str(config["EMULATOR_URL"]).rstrip("/")
        # wechatpayv3 has no setting for its base URL; this attribute is where it keeps it.
        self._pay._core._gate_way = gateway

    # ------------------------------------------------------------------ API calls
    def create_bill(
        self,
        out_bill_no: str,
        openid: str,
        amount_fen: int,
        remark: str,
        user_name: str | None = None,
        *,
        notify_url: str,
        transfer_scene_id: str = COMMISSION_SCENE_ID,
        scene_report_infos: list[Mapping[str, str]] | None = None,
        user_recv_perception: str = "劳务报酬",
    ) -> Bill:
        """Create the bill (or answer the existing one: idempotent by out_bill_no with the
        same parameters). `scene_report_infos` defaults to the commission scene's
        岗位类型 / 报酬说明; `user_name` is required from 2,000 yuan (sent encrypted with
        the platform key; the SDK drops it below 0.3 yuan).

        Raises ValueError for malformed arguments (nothing is sent), GatewayRejected for a
        definite refusal, GatewayUnavailable when the result is unknown."""
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
            raise ValueError(f"amount_fen must be a positive int, got {amount_fen!r}")
        for name, value in (
            ("out_bill_no", out_bill_no),
            ("openid", openid),
            ("remark", remark),
            ("notify_url", notify_url),
            ("transfer_scene_id", transfer_scene_id),
        ):
            if not value:
                raise ValueError(f"{name} is required")
        if amount_fen >= 200_000 and not user_name:
            # The SDK refuses before sending; WeChat would answer the same.
            raise GatewayRejected("user_name is required from 2,000 yuan", code="PARAM_ERROR")
        infos = [dict(i) for i in (scene_report_infos or COMMISSION_REPORT_INFOS)]
        data = self._call(
            lambda: self._pay.mch_transfer_bills(
                out_bill_no=out_bill_no,
                transfer_scene_id=transfer_scene_id,
                openid=openid,
                transfer_amount=amount_fen,
                transfer_remark=remark,
                user_name=user_name,
                user_recv_perception=user_recv_perception,
                transfer_scene_report_infos=infos,
                notify_url=notify_url,
            )
        )
        return self._bill(data, out_bill_no)

    def query_bill(self, out_bill_no: str) -> Bill:
        """The bill at WeChat; state NOT_FOUND if WeChat does not know the number. Raises
        GatewayRejected when WeChat refuses the query, GatewayUnavailable when unsure."""
        try:
            data = self._call(lambda: self._pay.mch_transfer_bills_query(out_bill_no=out_bill_no))
        except GatewayRejected as exc:
            if exc.code == NOT_FOUND:
                return Bill(out_bill_no=out_bill_no, transfer_bill_no=None, state=NOT_FOUND)
            raise
        if data.get("mch_id", self.mch_id) != self.mch_id:
            raise GatewayUnavailable("query answer for another mch_id")
        return self._bill(data, out_bill_no)

    def cancel_bill(self, out_bill_no: str) -> Bill:
        """Revoke a bill the user has not confirmed: CANCELING (WeChat finishes it later,
        with a notify) or CANCELLED. Raises GatewayRejected (NOT_FOUND, or INVALID_REQUEST
        when the bill is past cancelling: query it) or GatewayUnavailable."""
        data = self._call(lambda: self._pay.mch_transfer_bills_cancel(out_bill_no))
        return self._bill(data, out_bill_no)

    # ------------------------------------------------------------------ notifies
    def parse_notify(self, headers: Mapping[str, str], body: bytes | str) -> Bill:
        """Verify, decrypt and read a transfer notify (`headers` in any letter case).
        Raises InvalidNotify for another serial, a bad or stale signature, a ciphertext
        that does not decrypt with our APIv3 key, another merchant, or a bad shape."""
        lower = {str(k).lower(): str(v) for k, v in headers.items()}
        canonical = {name: lower.get(name.lower(), "") for name in _NOTIFY_HEADERS}
        if canonical["Wechatpay-Serial"] != self.public_key_id:
            # Checked first: the SDK would go and fetch platform certificates for it.
            raise InvalidNotify("notify signed under another serial")
        ts = canonical["Wechatpay-Timestamp"]
        if not ts.isdigit() or abs(int(ts) - time.time()) > NOTIFY_MAX_SKEW_SECONDS:
            raise InvalidNotify("notify timestamp missing or stale")
        try:
            text = body.decode() if isinstance(body, bytes) else body
            data = self._pay.callback(canonical, text)
        except Exception as exc:  # the SDK raises bare Exception, ValueError, JSONDecodeError
            raise InvalidNotify(f"unreadable notify: {exc!r}") from exc
        if not isinstance(data, dict):
            raise InvalidNotify("bad signature, or the resource does not decrypt")
        resource = data.get("resource")
        if not isinstance(resource, dict):
            raise InvalidNotify("notify resource is not an object")
        if resource.get("mch_id") != self.mch_id:
            raise InvalidNotify("notify for another mch_id")
        try:
            return self._bill(resource, None)
        except GatewayUnavailable as exc:
            raise InvalidNotify(str(exc)) from exc

    # ------------------------------------------------------------------ internals
    def _call(self, fn: Callable[[], tuple[int, Any]]) -> dict[str, Any]:
        """Run an SDK call and map the answer; returns the JSON object of a 2xx answer."""
        try:
            status, body = fn()
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"WeChat Pay v3 unreachable: {exc}") from exc
        except Exception as exc:  # the SDK raises bare Exception for a bad answer signature
            raise GatewayUnavailable(f"WeChat Pay v3 answer not trusted: {exc}") from exc
        try:
            data = json.loads(body) if body else {}
        except (ValueError, TypeError):
            data = None
        if 200 <= status < 300:
            if not isinstance(data, dict):
                raise GatewayUnavailable(f"WeChat Pay v3 answered {status} without JSON")
            return data
        code = data.get("code") if isinstance(data, dict) else None
        message = (data.get("message") if isinstance(data, dict) else None) or str(code)
        if 400 <= status < 500 and isinstance(code, str) and code:
            if code in UNKNOWN_RESULT_CODES:
                raise GatewayUnavailable(f"result unknown ({code}): {message}", code=code)
            raise GatewayRejected(message, code=code)
        raise GatewayUnavailable(f"WeChat Pay v3 answered HTTP {status}", code=code)

    @staticmethod
    def _bill(data: Mapping[str, Any], out_bill_no: str | None) -> Bill:
        state = data.get("state")
        if state not in STATES:
            raise GatewayUnavailable(f"transfer bill with state {state!r}")
        number = data.get("out_bill_no")
        if not isinstance(number, str) or (out_bill_no is not None and number != out_bill_no):
            raise GatewayUnavailable("answer for another out_bill_no")
        transfer_bill_no = data.get("transfer_bill_no")
        if not isinstance(transfer_bill_no, str) or not transfer_bill_no:
            raise GatewayUnavailable("transfer bill without transfer_bill_no")
        amount = data.get("transfer_amount")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
            raise GatewayUnavailable("transfer_amount is not an integer of fen")
        package_info = data.get("package_info") if state == "WAIT_USER_CONFIRM" else None
        return Bill(
            out_bill_no=number,
            transfer_bill_no=transfer_bill_no,
            state=state,
            package_info=package_info or None,
            fail_reason=data.get("fail_reason") or None,
            amount_fen=amount,
            raw=dict(data),
        )
