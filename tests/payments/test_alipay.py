"""Alipay adapter against the gateway emulator, through the real alipay-sdk-python over HTTP."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from alipay.aop.api.util import WebUtils
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.datastructures import MultiDict

from payments import alipay_patch
from payments.alipay import AlipayGateway, AlipayNotify, TradeQuery
from payments.emulator.alipay import rsa2_sign, sign_content, sign_notify
from payments.errors import GatewayRejected, GatewayUnavailable, InvalidNotify
from payments.money import fen_to_yuan, yuan_to_fen
from tests.payments.conftest import HttpSink, arm_fault

NOTIFY_FIELDS = (
    "notify_time",
    "notify_type",
    "notify_id",
    "app_id",
    "charset",
    "version",
    "sign_type",
    "sign",
    "trade_no",
    "out_trade_no",
    "trade_status",
    "total_amount",
    "receipt_amount",
    "buyer_pay_amount",
    "gmt_create",
    "gmt_payment",
    "subject",
    "buyer_id",
    "seller_id",
)


# --------------------------------------------------------------------------- fixtures
# `cfg` (app config pointed at the session emulator, faults disarmed) and `sink` (a
# recording HTTP server) come from tests/payments/conftest.py.


@pytest.fixture(autouse=True)
def _fresh_alipay(emulator: str) -> None:
    """Forget the emulator's Alipay trades and counters before each test."""
    requests.post(f"{emulator}/_emulator/alipay/reset", timeout=5).raise_for_status()


@pytest.fixture
def notify_url(sink: HttpSink) -> str:
    """Where the emulator posts notifies; the sink answers like an app that handled them."""
    sink.reply_body = b"success"
    sink.reply_content_type = "text/plain"
    return sink.url + "/notify/alipay"


@pytest.fixture
def gateway(cfg: dict[str, Any]) -> AlipayGateway:
    return AlipayGateway(cfg)


def notifies(sink: HttpSink) -> list[MultiDict[str, str]]:
    """The Alipay notifies the sink received, parsed as the app's form parser would."""
    forms = []
    for received in sink.received:
        assert received.path == "/notify/alipay"
        assert received.content_type == "application/x-www-form-urlencoded"
        forms.append(MultiDict(parse_qsl(received.body.decode("utf-8"), keep_blank_values=True)))
    return forms


def new_no(prefix: str = "T") -> str:
    return prefix + uuid.uuid4().hex[:20]


def open_cashier(gateway: AlipayGateway, notify_url: str, total_fen: int = 1234) -> str:
    """Create a WAIT_BUYER_PAY trade the way a buyer does: open the signed cashier URL."""
    out_trade_no = new_no()
    url = gateway.wap_pay_url(out_trade_no, total_fen, "测试商品 x1", notify_url)
    assert requests.get(url, timeout=5).status_code == 200
    return out_trade_no


def control(cfg: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> Any:
    url = cfg["EMULATOR_URL"] + path
    if body is None:
        return requests.get(url, timeout=10)
    return requests.post(url, json=body, timeout=10)


def pay(cfg: dict[str, Any], out_trade_no: str, notify: bool = True) -> dict[str, Any]:
    answer = control(cfg, "/_emulator/alipay/pay", {"out_trade_no": out_trade_no, "notify": notify})
    assert answer.status_code == 200, answer.text
    return answer.json()


def arm(cfg: dict[str, Any], key: str, mode: str, **extra: Any) -> None:
    arm_fault(cfg["EMULATOR_URL"], key, mode, **extra)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkcs1_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def spki_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def verified_answer(cfg: dict[str, Any], text: str) -> tuple[str, dict[str, Any]]:
    """Check an emulator answer's RSA2 signature as the SDK does; (key, response object)."""
    match = re.fullmatch(r'\{"([a-z_]+_response)":(\{.*\}),"sign":"([A-Za-z0-9+/=]+)"\}', text)
    assert match, text
    public = serialization.load_pem_public_key(cfg["ALIPAY_PUBLIC_KEY"].encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        base64.b64decode(match.group(3)),
        match.group(2).encode("utf-8"),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return match.group(1), json.loads(match.group(2))


def signed_params(cfg: dict[str, Any], method: str, biz_content: str) -> dict[str, str]:
    """Gateway parameters signed with the app key, built by hand (for malformed bodies)."""
    params = {
        "app_id": cfg["ALIPAY_APP_ID"],
        "method": method,
        "format": "json",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": "2026-11-26 10:00:00",
        "version": "1.0",
        "biz_content": biz_content,
    }
    key = serialization.load_pem_private_key(cfg["ALIPAY_APP_PRIVATE_KEY"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    params["sign"] = rsa2_sign(key, sign_content(params, ("sign",)))
    return params


def notify_for(cfg: dict[str, Any], **overrides: str) -> dict[str, str]:
    fields = {
        "notify_time": "2026-11-26 10:00:05",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": cfg["ALIPAY_APP_ID"],
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026112622001400000000001234",
        "out_trade_no": "T20261126000001",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "12.34",
        "receipt_amount": "12.34",
        "buyer_pay_amount": "12.34",
        "gmt_create": "2026-11-26 10:00:00",
        "gmt_payment": "2026-11-26 10:00:04",
        "subject": "测试商品 x1",
        "buyer_id": "2088102122524333",
        "seller_id": "2088621000000001",
    }
    fields.update(overrides)
    return resigned(cfg, fields)


def resigned(cfg: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
    """`fields` signed by the platform key, as a genuine Alipay notify is."""
    return sign_notify(fields, cfg["EMULATOR_ALIPAY_PRIVATE_KEY"])


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("fen", "yuan"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"), (1234, "12.34"),
     (10**12 + 5, "10000000000.05")],
)  # fmt: skip
def test_fen_to_yuan(fen: int, yuan: str) -> None:
    assert fen_to_yuan(fen) == yuan
    assert yuan_to_fen(yuan) == fen


@pytest.mark.parametrize("bad", [-1, -100, 1.5, True, "12"])
def test_fen_to_yuan_refuses(bad: Any) -> None:
    with pytest.raises(ValueError):
        fen_to_yuan(bad)


@pytest.mark.parametrize(
    ("text", "fen"), [("12", 1200), ("12.3", 1230), ("12.34", 1234), ("0.01", 1), ("0", 0)]
)
def test_yuan_to_fen(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize(
    "bad",
    ["", " 1", "1 ", "1.", ".5", "1.234", "-1", "+1", "1e3", "01", "1,00", "NaN", "١٢",
     "１２", "12.3.4", None, 12],
)  # fmt: skip
def test_yuan_to_fen_is_strict(bad: Any) -> None:
    with pytest.raises(ValueError):
        yuan_to_fen(bad)


def test_money_round_trip() -> None:
    for fen in range(0, 20_001):
        assert yuan_to_fen(fen_to_yuan(fen)) == fen


# --------------------------------------------------------------------------- SDK patch


def test_patch_honours_port_and_scheme() -> None:
    alipay_patch.apply()
    alipay_patch.apply()  # idempotent
    assert WebUtils.get_http_connection is alipay_patch.get_http_connection
    target, conn = alipay_patch.get_http_connection(
        "https://openapi.example.com:8443/gateway.do", "a=1&b=2", 3
    )
    assert (conn.host, conn.port, conn.timeout) == ("openapi.example.com", 8443, 3)
    assert type(conn).__name__ == "HTTPSConnection"
    assert target == "/gateway.do?a=1&b=2"
    target, conn = alipay_patch.get_http_connection("http://127.0.0.1/gateway.do?x=y", "a=1", 3)
    assert (conn.port, target, type(conn).__name__) == (80, "/gateway.do?x=y&a=1", "HTTPConnection")
    with pytest.raises(ValueError):
        alipay_patch.get_http_connection("ftp://host/gateway.do", "", 3)


def test_live_mode_uses_openapi(cfg: dict[str, Any]) -> None:
    assert AlipayGateway({**cfg, "GATEWAY": "live"}).server_url == (
        "https://openapi.alipay.com/gateway.do"
    )


def test_bad_key_fails_at_construction(cfg: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        AlipayGateway({**cfg, "ALIPAY_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nxx\n"})


# --------------------------------------------------------------------------- wap pay


def test_wap_pay_url_opens_cashier(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str
) -> None:
    out_trade_no = new_no()
    url = gateway.wap_pay_url(
        out_trade_no, 1234, "测试商品 x1", notify_url, return_url="http://shop/done"
    )
    assert url.startswith(cfg["EMULATOR_URL"] + "/gateway.do?")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    assert "12.34" in page.text and out_trade_no in page.text
    trade = control(cfg, f"/_emulator/alipay/trades/{out_trade_no}").json()
    assert trade["trade_status"] == "WAIT_BUYER_PAY"
    assert (trade["total_amount"], trade["total_fen"]) == ("12.34", 1234)
    assert trade["subject"] == "测试商品 x1"
    assert trade["notify_url"] == notify_url
    assert trade["return_url"] == "http://shop/done"
    assert trade["product_code"] == "QUICK_WAP_WAY"
    assert trade["timeout_express"] == "30m"
    # Reopening the same order is fine; the same number with another amount is not.
    assert requests.get(url, timeout=5).status_code == 200
    other = gateway.wap_pay_url(out_trade_no, 1235, "测试商品 x1", notify_url)
    assert requests.get(other, timeout=5).status_code == 400
    with pytest.raises(ValueError):
        gateway.wap_pay_url(out_trade_no, 0, "x", notify_url)


def test_cashier_refuses_tampered_url(cfg: dict[str, Any], gateway: AlipayGateway) -> None:
    url = gateway.wap_pay_url(new_no(), 1234, "x", "http://127.0.0.1:9/n")
    tampered = url.replace("12.34", "0.01")
    assert tampered != url
    page = requests.get(tampered, timeout=5)
    assert page.status_code == 400
    assert "isv.invalid-signature" in page.text


def test_request_signed_with_another_key_is_refused(cfg: dict[str, Any]) -> None:
    intruder = AlipayGateway({**cfg, "ALIPAY_APP_PRIVATE_KEY": pkcs1_pem(new_rsa_key())})
    with pytest.raises(GatewayRejected) as info:
        intruder.query(new_no())
    assert info.value.code == "isv.invalid-signature"
    url = intruder.wap_pay_url(new_no(), 100, "x", "http://127.0.0.1:9/n")
    assert requests.get(url, timeout=5).status_code == 400


def test_other_app_id_is_refused(cfg: dict[str, Any]) -> None:
    stranger = AlipayGateway({**cfg, "ALIPAY_APP_ID": "2021000000009999"})
    with pytest.raises(GatewayRejected) as info:
        stranger.query(new_no())
    assert info.value.code == "isv.invalid-app-id"


# --------------------------------------------------------------------------- notifies


def test_pay_posts_a_notify_that_verifies(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str, sink: HttpSink
) -> None:
    out_trade_no = open_cashier(gateway, notify_url, total_fen=1234)
    answer = pay(cfg, out_trade_no)
    assert re.fullmatch(r"\d{28}", answer["trade_no"])
    assert (answer["notify_status"], answer["notify_response"]) == (200, "success")
    assert len(notifies(sink)) == 1
    form = notifies(sink)[0]
    assert set(NOTIFY_FIELDS) <= set(form)
    assert form["sign_type"] == "RSA2"
    assert form["notify_type"] == "trade_status_sync"
    notify = gateway.verify_notify(form)
    assert notify == AlipayNotify(
        app_id=cfg["ALIPAY_APP_ID"],
        out_trade_no=out_trade_no,
        trade_no=answer["trade_no"],
        trade_status="TRADE_SUCCESS",
        total_fen=1234,
        raw=notify.raw,
    )
    assert notify.raw["subject"] == "测试商品 x1"

    # Paying again changes nothing and sends nothing; a re-post is a second, valid notify.
    again = pay(cfg, out_trade_no)
    assert (again["trade_no"], again["notify_status"]) == (answer["trade_no"], None)
    assert len(notifies(sink)) == 1
    resent = control(cfg, "/_emulator/alipay/notify", {"out_trade_no": out_trade_no})
    assert resent.status_code == 200
    assert resent.json()["notify_status"] == 200
    assert len(notifies(sink)) == 2
    second = gateway.verify_notify(notifies(sink)[1])
    assert second.trade_no == answer["trade_no"]
    assert notifies(sink)[1]["notify_id"] != form["notify_id"]


def test_pay_without_notify_and_failing_receiver(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str, sink: HttpSink
) -> None:
    quiet = open_cashier(gateway, notify_url)
    assert pay(cfg, quiet, notify=False)["notify_status"] is None
    assert notifies(sink) == []
    sink.reply_body = b"fail"
    loud = open_cashier(gateway, notify_url)
    assert pay(cfg, loud)["notify_response"] == "fail"
    unpaid = open_cashier(gateway, notify_url)
    assert control(cfg, "/_emulator/alipay/notify", {"out_trade_no": unpaid}).status_code == 409
    assert control(cfg, "/_emulator/alipay/pay", {"out_trade_no": "nope"}).status_code == 404
    assert control(cfg, "/_emulator/alipay/pay", {}).status_code == 400


def test_sign_notify_matches_gateway_verification(
    cfg: dict[str, Any], gateway: AlipayGateway
) -> None:
    form = notify_for(cfg)
    assert gateway.verify_notify(form).total_fen == 1234
    assert gateway.verify_notify(MultiDict(form)).out_trade_no == "T20261126000001"
    # An empty optional field is not signed, as Alipay does.
    assert gateway.verify_notify(notify_for(cfg, buyer_id="")).raw["buyer_id"] == ""


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda cfg, f: {**f, "total_amount": "0.01"}, id="tampered-amount"),
        pytest.param(lambda cfg, f: {**f, "trade_status": "TRADE_FINISHED"}, id="tampered-status"),
        pytest.param(lambda cfg, f: {**f, "extra": "1"}, id="field-added"),
        pytest.param(lambda cfg, f: {k: v for k, v in f.items() if k != "sign"}, id="no-sign"),
        pytest.param(lambda cfg, f: {**f, "sign": ""}, id="empty-sign"),
        pytest.param(lambda cfg, f: {**f, "sign": "not base64!"}, id="garbage-sign"),
        pytest.param(lambda cfg, f: {**f, "sign_type": "RSA"}, id="sign-type-rsa"),
        pytest.param(
            lambda cfg, f: {k: v for k, v in f.items() if k != "sign_type"}, id="no-sign-type"
        ),
        pytest.param(
            lambda cfg, f: sign_notify(f, cfg["ALIPAY_APP_PRIVATE_KEY"]), id="wrong-key"
        ),
        pytest.param(
            lambda cfg, f: resigned(cfg, {**f, "total_amount": "12.345"}),
            id="malformed-amount",
        ),
        pytest.param(
            lambda cfg, f: resigned(cfg, {**f, "total_amount": "-1.00"}),
            id="negative-amount",
        ),
        pytest.param(
            lambda cfg, f: resigned(cfg, {k: v for k, v in f.items() if k != "out_trade_no"}),
            id="missing-out-trade-no",
        ),
        pytest.param(
            lambda cfg, f: MultiDict([*f.items(), ("total_amount", "0.01")]), id="repeated-field"
        ),
    ],
)  # fmt: skip
def test_forged_notifies_are_refused(
    cfg: dict[str, Any], gateway: AlipayGateway, forge: Any
) -> None:
    with pytest.raises(InvalidNotify):
        gateway.verify_notify(forge(cfg, notify_for(cfg)))


def test_notify_app_id_is_exposed_not_judged(cfg: dict[str, Any], gateway: AlipayGateway) -> None:
    notify = gateway.verify_notify(notify_for(cfg, app_id="2021000000009999"))
    assert notify.app_id == "2021000000009999"


def test_replies() -> None:
    assert (AlipayGateway.reply_success(), AlipayGateway.reply_fail()) == ("success", "fail")


# --------------------------------------------------------------------------- query / close


def test_query_states(cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str) -> None:
    assert gateway.query(new_no()) == TradeQuery("NOT_EXIST", None, None)
    out_trade_no = open_cashier(gateway, notify_url, total_fen=990)
    assert gateway.query(out_trade_no) == TradeQuery("WAIT_BUYER_PAY", None, 990)
    trade_no = pay(cfg, out_trade_no)["trade_no"]
    assert gateway.query(out_trade_no) == TradeQuery("TRADE_SUCCESS", trade_no, 990)
    assert control(cfg, "/_emulator/alipay/finish", {"out_trade_no": out_trade_no}).ok
    assert gateway.query(out_trade_no) == TradeQuery("TRADE_FINISHED", trade_no, 990)
    closed = open_cashier(gateway, notify_url, total_fen=1)
    gateway.close(closed)
    assert gateway.query(closed) == TradeQuery("TRADE_CLOSED", None, 1)


def test_close_then_pay_is_refused(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str, sink: HttpSink
) -> None:
    out_trade_no = open_cashier(gateway, notify_url)
    gateway.close(out_trade_no)
    gateway.close(out_trade_no)  # closing twice is harmless
    refused = control(cfg, "/_emulator/alipay/pay", {"out_trade_no": out_trade_no})
    assert refused.status_code == 409
    assert notifies(sink) == []
    assert gateway.query(out_trade_no).trade_status == "TRADE_CLOSED"
    # The cashier of a closed trade no longer opens.
    url = gateway.wap_pay_url(out_trade_no, 1234, "测试商品 x1", notify_url)
    assert requests.get(url, timeout=5).status_code == 400


def test_close_unknown_is_quiet_and_paid_is_refused(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str
) -> None:
    assert gateway.close(new_no()) is None
    out_trade_no = open_cashier(gateway, notify_url)
    pay(cfg, out_trade_no)
    with pytest.raises(GatewayRejected) as info:
        gateway.close(out_trade_no)
    assert info.value.code == "ACQ.TRADE_STATUS_ERROR"
    assert gateway.query(out_trade_no).trade_status == "TRADE_SUCCESS"


# --------------------------------------------------------------------------- refund


def test_refund_is_idempotent_by_request_no(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str, sink: HttpSink
) -> None:
    out_trade_no = open_cashier(gateway, notify_url, total_fen=1000)
    trade_no = pay(cfg, out_trade_no)["trade_no"]
    first = gateway.refund(out_trade_no, "R1", 300)
    assert (first.trade_no, first.refund_fen_total, first.fund_change) == (trade_no, 300, True)
    again = gateway.refund(out_trade_no, "R1", 300)
    assert (again.refund_fen_total, again.fund_change) == (300, False)
    with pytest.raises(GatewayRejected):
        gateway.refund(out_trade_no, "R1", 301)  # same number, other amount
    rest = gateway.refund(out_trade_no, "R2", 700)
    assert (rest.refund_fen_total, rest.fund_change) == (1000, True)
    assert gateway.query(out_trade_no).trade_status == "TRADE_CLOSED"
    assert gateway.refund(out_trade_no, "R2", 700).fund_change is False
    with pytest.raises(GatewayRejected):
        gateway.refund(out_trade_no, "R3", 1)
    record = control(cfg, f"/_emulator/alipay/trades/{out_trade_no}").json()
    assert record["refunds"] == {"R1": 300, "R2": 700}
    assert notifies(sink)[1:] == []  # no refund notify by default


def test_over_refund_is_rejected(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str
) -> None:
    out_trade_no = open_cashier(gateway, notify_url, total_fen=1000)
    pay(cfg, out_trade_no)
    gateway.refund(out_trade_no, "R1", 600)
    with pytest.raises(GatewayRejected) as info:
        gateway.refund(out_trade_no, "R2", 401)
    assert info.value.code == "ACQ.REASON_TRADE_REFUND_FEE_ERR"
    assert control(cfg, f"/_emulator/alipay/trades/{out_trade_no}").json()["refunded_fen"] == 600
    assert gateway.refund(out_trade_no, "R2", 400).refund_fen_total == 1000
    with pytest.raises(ValueError):
        gateway.refund(out_trade_no, "R3", 0)


def test_refund_of_unpaid_or_unknown_trade(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str
) -> None:
    with pytest.raises(GatewayRejected) as info:
        gateway.refund(new_no(), "R1", 100)
    assert info.value.code == "ACQ.TRADE_NOT_EXIST"
    unpaid = open_cashier(gateway, notify_url)
    with pytest.raises(GatewayRejected) as info:
        gateway.refund(unpaid, "R1", 100)
    assert info.value.code == "ACQ.TRADE_STATUS_ERROR"


# --------------------------------------------------------------------------- failures


def test_forged_answer_signature_is_unavailable(cfg: dict[str, Any]) -> None:
    fooled = AlipayGateway({**cfg, "ALIPAY_PUBLIC_KEY": spki_pem(new_rsa_key())})
    with pytest.raises(GatewayUnavailable):
        fooled.query(new_no())


def test_error500_is_unavailable_and_did_nothing(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str
) -> None:
    out_trade_no = open_cashier(gateway, notify_url, total_fen=500)
    pay(cfg, out_trade_no)
    arm(cfg, "alipay.trade.refund", "error500")
    with pytest.raises(GatewayUnavailable):
        gateway.refund(out_trade_no, "R1", 100)
    assert control(cfg, f"/_emulator/alipay/trades/{out_trade_no}").json()["refunded_fen"] == 0
    assert gateway.refund(out_trade_no, "R1", 100).fund_change is True


def test_error500_after_work_settles_by_retrying_same_request_no(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str
) -> None:
    out_trade_no = open_cashier(gateway, notify_url, total_fen=500)
    pay(cfg, out_trade_no)
    arm(cfg, "alipay.trade.refund", "error500_after")
    with pytest.raises(GatewayUnavailable):
        gateway.refund(out_trade_no, "R1", 100)
    retried = gateway.refund(out_trade_no, "R1", 100)
    assert (retried.refund_fen_total, retried.fund_change) == (100, False)


def test_timeout_is_unavailable(cfg: dict[str, Any]) -> None:
    impatient = AlipayGateway({**cfg, "GATEWAY_TIMEOUT_SECONDS": 1})
    arm(cfg, "alipay.trade.query", "timeout", seconds=2)
    started = time.monotonic()
    with pytest.raises(GatewayUnavailable):
        impatient.query(new_no())
    assert time.monotonic() - started < 1.9


def test_fail_fault_is_rejected(cfg: dict[str, Any], gateway: AlipayGateway) -> None:
    arm(cfg, "alipay.trade.query", "fail", code="ACQ.ACCESS_FORBIDDEN", message="no access")
    with pytest.raises(GatewayRejected) as info:
        gateway.query(new_no())
    assert (info.value.code, info.value.message) == (
        "ACQ.ACCESS_FORBIDDEN",
        "Alipay alipay.trade.query: no access",
    )
    assert gateway.query(new_no()).trade_status == "NOT_EXIST"  # one use only


def test_system_error_answer_is_unavailable(cfg: dict[str, Any], gateway: AlipayGateway) -> None:
    arm(cfg, "alipay.trade.refund", "fail", code="ACQ.SYSTEM_ERROR", message="retry")
    with pytest.raises(GatewayUnavailable) as info:
        gateway.refund(new_no(), "R1", 100)
    assert info.value.code == "ACQ.SYSTEM_ERROR"


def test_connection_refused_is_unavailable(cfg: dict[str, Any]) -> None:
    nowhere = AlipayGateway({**cfg, "EMULATOR_URL": "http://127.0.0.1:9"})
    with pytest.raises(GatewayUnavailable):
        nowhere.query(new_no())


# --------------------------------------------------------------------------- emulator edges


def test_malformed_requests_get_signed_errors(cfg: dict[str, Any]) -> None:
    url = cfg["EMULATOR_URL"] + "/gateway.do"
    answer = requests.post(url, timeout=5)
    assert answer.status_code == 200
    key, body = verified_answer(cfg, answer.text)
    assert (key, body["code"], body["sub_code"]) == (
        "error_response",
        "40001",
        "isv.missing-method",
    )

    answer = requests.post(url, params={"method": "alipay.trade.query"}, timeout=5)
    key, body = verified_answer(cfg, answer.text)
    assert (key, body["code"]) == ("alipay_trade_query_response", "40001")

    params = signed_params(cfg, "alipay.trade.query", "{not json")
    key, body = verified_answer(cfg, requests.post(url, data=params, timeout=5).text)
    assert (body["code"], body["sub_code"]) == ("40002", "isv.invalid-parameter")

    params = signed_params(cfg, "alipay.trade.query", '{"out_trade_no": ["x"]}')
    _, body = verified_answer(cfg, requests.post(url, data=params, timeout=5).text)
    assert (body["code"], body["sub_code"]) == ("40004", "ACQ.INVALID_PARAMETER")

    params = signed_params(cfg, "alipay.trade.nothing", "{}")
    _, body = verified_answer(cfg, requests.post(url, data=params, timeout=5).text)
    assert body["sub_code"] == "isv.invalid-method"

    params = signed_params(cfg, "alipay.trade.refund", '{"out_trade_no":"x","refund_amount":"1e2"}')
    _, body = verified_answer(cfg, requests.post(url, data=params, timeout=5).text)
    assert body["sub_code"] == "ACQ.INVALID_PARAMETER"

    params = signed_params(cfg, "alipay.trade.query", '{"out_trade_no":"x"}')
    twice = requests.post(url, params={"app_id": "other"}, data=params, timeout=5)
    _, body = verified_answer(cfg, twice.text)
    assert body["sub_code"] == "isv.invalid-parameter"

    params = {**signed_params(cfg, "alipay.trade.query", "{}"), "sign_type": "RSA"}
    _, body = verified_answer(cfg, requests.post(url, data=params, timeout=5).text)
    assert body["sub_code"] == "isv.invalid-signature-type"

    garbage = requests.post(
        url, data=b"\xff\xfe%%%=&&==", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert garbage.status_code == 200
    verified_answer(cfg, garbage.text)

    page = requests.get(url, params={"method": "alipay.trade.wap.pay"}, timeout=5)
    assert page.status_code == 400
    assert "text/html" in page.headers["Content-Type"]


@pytest.mark.parametrize(
    "biz",
    [
        '{"out_trade_no":"a b","total_amount":"1.00","subject":"x"}',
        '{"out_trade_no":"T1","total_amount":"0.00","subject":"x"}',
        '{"out_trade_no":"T1","total_amount":"1.001","subject":"x"}',
        '{"out_trade_no":"T1","total_amount":"1.00"}',
        '{"out_trade_no":"T1","total_amount":"1.00","subject":"x","product_code":"FAST"}',
    ],
)
def test_wap_pay_refuses_bad_orders(cfg: dict[str, Any], biz: str) -> None:
    params = signed_params(cfg, "alipay.trade.wap.pay", biz)
    page = requests.get(cfg["EMULATOR_URL"] + "/gateway.do", params=params, timeout=5)
    assert page.status_code == 400
    assert control(cfg, "/_emulator/alipay/trades/T1").status_code == 404


def test_stats_count_calls_per_method(
    cfg: dict[str, Any], gateway: AlipayGateway, notify_url: str
) -> None:
    out_trade_no = open_cashier(gateway, notify_url)
    gateway.query(out_trade_no)
    gateway.query(out_trade_no)
    gateway.close(out_trade_no)
    stats = control(cfg, "/_emulator/alipay/stats").json()
    assert stats == {
        "alipay.trade.wap.pay": 1,
        "alipay.trade.query": 2,
        "alipay.trade.close": 1,
        "transfers_paid": {},
    }
