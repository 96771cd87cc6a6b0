"""WeChatPayV2 against the emulator, through wechatpy and real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import pytest
import requests
import xmltodict
from wechatpy.pay import WeChatPay

from payments.emulator.wechat import encrypt_refund_info, sign_notify, to_xml
from payments.errors import GatewayRejected, GatewayUnavailable, InvalidNotify
from payments.wechat_pay import OrderQuery, WeChatPayV2
from tests.payments.conftest import HttpSink, arm_fault, stats

OPENID = "oTestOpenid0000000000000000A"


@pytest.fixture
def pay(cfg: dict[str, Any]) -> WeChatPayV2:
    return WeChatPayV2(cfg)


def new_no(prefix: str = "T") -> str:
    return prefix + uuid.uuid4().hex[:20]


def order(pay: WeChatPayV2, sink: HttpSink, out_trade_no: str, total_fee: int = 1990) -> str:
    return pay.unified_order_jsapi(
        out_trade_no=out_trade_no,
        total_fee=total_fee,
        body="wxdist-test goods",
        openid=OPENID,
        notify_url=f"{sink.url}/notify/wechat",
        client_ip="127.0.0.1",
        attach="order:1",
    )


def emulate_payment(emulator: str, notify: bool = True, **ident: str) -> requests.Response:
    return requests.post(
        f"{emulator}/_emulator/wechat/pay", json={**ident, "notify": notify}, timeout=10
    )


def md5_sign(fields: dict[str, Any], key: str) -> str:
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if fields[k]) + f"&key={key}"
    return hashlib.md5(text.encode()).hexdigest().upper()


def notify_fields(cfg: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "appid": cfg["WECHAT_APPID"],
        "mch_id": cfg["WECHAT_MCH_ID"],
        "nonce_str": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "openid": OPENID,
        "out_trade_no": "T1",
        "transaction_id": "4200000000202401010000000001",
        "total_fee": 1990,
        "cash_fee": 1990,
        "fee_type": "CNY",
        "bank_type": "OTHERS",
        "trade_type": "JSAPI",
        "time_end": "20240101120000",
    }
    fields.update(overrides)
    return fields


# ------------------------------------------------------------------ ordering and paying


def test_unified_order_is_idempotent_and_jsapi_params_are_signed(
    cfg: dict[str, Any], pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    prepay_id = order(pay, sink, no)
    assert prepay_id.startswith("wx") and prepay_id[2:].isdigit()
    assert order(pay, sink, no) == prepay_id

    params = pay.jsapi_params(prepay_id)
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == cfg["WECHAT_APPID"]
    assert params["package"] == f"prepay_id={prepay_id}"
    assert params["signType"] == "MD5"
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert params["paySign"] == md5_sign(unsigned, cfg["WECHAT_PAY_API_KEY"])


def test_same_out_trade_no_with_another_amount_is_rejected(
    pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    order(pay, sink, no, total_fee=100)
    with pytest.raises(GatewayRejected) as err:
        order(pay, sink, no, total_fee=200)
    assert err.value.code == "INVALID_REQUEST"


def test_payment_posts_a_notify_that_parses(
    emulator: str, cfg: dict[str, Any], pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    prepay_id = order(pay, sink, no, total_fee=1990)

    answer = emulate_payment(emulator, prepay_id=prepay_id).json()

    assert answer["notify_status"] == 200 and "SUCCESS" in answer["notify_response"]
    txn = answer["transaction_id"]
    assert len(txn) == 28 and txn.startswith("4200") and txn.isdigit()
    (received,) = sink.wait_for(1)
    assert received.path == "/notify/wechat"
    notify = pay.parse_pay_notify(received.body)
    assert notify.out_trade_no == no
    assert notify.transaction_id == txn
    assert notify.total_fee == 1990
    assert notify.openid == OPENID
    assert notify.appid == cfg["WECHAT_APPID"] and notify.mch_id == cfg["WECHAT_MCH_ID"]
    assert notify.result_code == "SUCCESS"
    assert len(notify.time_end) == 14 and notify.time_end.isdigit()
    assert notify.raw["attach"] == "order:1"
    # wechatpy's own parser agrees the signature is good.
    assert (
        WeChatPay(
            cfg["WECHAT_APPID"], cfg["WECHAT_PAY_API_KEY"], cfg["WECHAT_MCH_ID"]
        ).parse_payment_result(received.body)["total_fee"]
        == 1990
    )


def test_duplicate_notify_is_the_same_body(emulator: str, pay: WeChatPayV2, sink: HttpSink) -> None:
    no = new_no()
    order(pay, sink, no)
    emulate_payment(emulator, out_trade_no=no).raise_for_status()
    again = requests.post(
        f"{emulator}/_emulator/wechat/notify", json={"out_trade_no": no}, timeout=10
    )
    assert again.json()["notify_status"] == 200
    first, second = sink.wait_for(2)
    assert first.body == second.body


def test_pay_without_notify_posts_nothing(emulator: str, pay: WeChatPayV2, sink: HttpSink) -> None:
    no = new_no()
    order(pay, sink, no)
    answer = emulate_payment(emulator, notify=False, out_trade_no=no).json()
    assert "notify_status" not in answer
    assert sink.received == []
    assert pay.query_order(no).trade_state == "SUCCESS"


# ------------------------------------------------------------------ notify verification


def test_notify_with_tampered_amount_is_refused(
    emulator: str, pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    order(pay, sink, no, total_fee=1990)
    emulate_payment(emulator, out_trade_no=no).raise_for_status()
    (received,) = sink.wait_for(1)
    tampered = received.body.replace(b"<total_fee>1990</total_fee>", b"<total_fee>1</total_fee>")
    assert tampered != received.body
    with pytest.raises(InvalidNotify):
        pay.parse_pay_notify(tampered)


def test_notify_signed_with_another_key_is_refused(cfg: dict[str, Any], pay: WeChatPayV2) -> None:
    with pytest.raises(InvalidNotify):
        pay.parse_pay_notify(sign_notify(notify_fields(cfg), "someone-elses-api-key-0000000000"))


def test_crafted_notify_signed_with_our_key_parses_md5_and_hmac(
    cfg: dict[str, Any], pay: WeChatPayV2
) -> None:
    key = cfg["WECHAT_PAY_API_KEY"]
    md5 = pay.parse_pay_notify(sign_notify(notify_fields(cfg), key))
    hmac_sha256 = pay.parse_pay_notify(
        sign_notify(notify_fields(cfg, sign_type="HMAC-SHA256"), key)
    )
    assert md5.total_fee == hmac_sha256.total_fee == 1990


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<xml><return_code>SUCCESS</return_code>",
        b"<other><a>1</a></other>",
        b"<xml><a><b>nested</b></a></xml>",
        b'<xml><a x="1">attributed</a></xml>',
        b"<xml><a>1</a><a>2</a></xml>",
        b'<!DOCTYPE xml [<!ENTITY e "SUCCESS">]><xml><return_code>&e;</return_code></xml>',
    ],
)
def test_malformed_notify_is_refused(pay: WeChatPayV2, body: bytes) -> None:
    with pytest.raises(InvalidNotify):
        pay.parse_pay_notify(body)


def test_notify_without_sign_is_refused(cfg: dict[str, Any], pay: WeChatPayV2) -> None:
    with pytest.raises(InvalidNotify):
        pay.parse_pay_notify(to_xml(notify_fields(cfg)))


def test_notify_with_sign_but_wrong_sign_type_is_refused(
    cfg: dict[str, Any], pay: WeChatPayV2
) -> None:
    key = cfg["WECHAT_PAY_API_KEY"]
    md5_signed = xmltodict.parse(sign_notify(notify_fields(cfg), key))["xml"]
    md5_signed["sign_type"] = "HMAC-SHA256"  # claims HMAC, carries an MD5 sign
    with pytest.raises(InvalidNotify):
        pay.parse_pay_notify(to_xml(md5_signed))


@pytest.mark.parametrize(
    "overrides",
    [
        {"return_code": "FAIL"},
        {"total_fee": "19.90"},
        {"total_fee": "-5"},
        {"transaction_id": None},
        {"openid": ""},
    ],
)
def test_signed_but_unacceptable_notify_is_refused(
    cfg: dict[str, Any], pay: WeChatPayV2, overrides: dict[str, Any]
) -> None:
    body = sign_notify(notify_fields(cfg, **overrides), cfg["WECHAT_PAY_API_KEY"])
    with pytest.raises(InvalidNotify):
        pay.parse_pay_notify(body)


def test_notify_from_another_merchant_is_exposed_not_refused(
    cfg: dict[str, Any], pay: WeChatPayV2
) -> None:
    body = sign_notify(notify_fields(cfg, mch_id="1234567890"), cfg["WECHAT_PAY_API_KEY"])
    assert pay.parse_pay_notify(body).mch_id == "1234567890"  # the caller compares


def test_notify_replies() -> None:
    ok = xmltodict.parse(WeChatPayV2.reply_success())["xml"]
    assert ok == {"return_code": "SUCCESS", "return_msg": "OK"}
    fail = xmltodict.parse(WeChatPayV2.reply_fail("bad ]]> sign"))["xml"]
    assert fail == {"return_code": "FAIL", "return_msg": "bad ]]> sign"}


# ------------------------------------------------------------------ query and close


def test_order_query_states(emulator: str, pay: WeChatPayV2, sink: HttpSink) -> None:
    set_auto_refund_notify(emulator, False)
    no = new_no()
    assert pay.query_order(no) == OrderQuery("NOTEXIST", None, None, None)

    order(pay, sink, no, total_fee=500)
    assert pay.query_order(no) == OrderQuery("NOTPAY", None, None, None)

    txn = emulate_payment(emulator, notify=False, out_trade_no=no).json()["transaction_id"]
    paid = pay.query_order(no)
    assert paid.trade_state == "SUCCESS"
    assert paid.transaction_id == txn and paid.total_fee == 500
    assert paid.time_end and len(paid.time_end) == 14

    pay.refund(no, new_no("R"), 500, 100, f"{sink.url}/notify/refund")
    assert pay.query_order(no).trade_state == "REFUND"

    closed = new_no()
    order(pay, sink, closed)
    pay.close_order(closed)
    assert pay.query_order(closed).trade_state == "CLOSED"
    assert stats(emulator)["orderquery"] == 5


def test_closed_trade_cannot_be_paid_or_reordered(
    emulator: str, pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    prepay_id = order(pay, sink, no)
    pay.close_order(no)

    assert emulate_payment(emulator, prepay_id=prepay_id).status_code == 409
    with pytest.raises(GatewayRejected) as err:
        order(pay, sink, no)
    assert err.value.code == "ORDERCLOSED"
    with pytest.raises(GatewayRejected) as err:
        pay.close_order(no)
    assert err.value.code == "ORDERCLOSED"


def test_paid_trade_cannot_be_closed_or_reordered(
    emulator: str, pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    order(pay, sink, no)
    emulate_payment(emulator, notify=False, out_trade_no=no).raise_for_status()

    with pytest.raises(GatewayRejected) as err:
        pay.close_order(no)
    assert err.value.code == "ORDERPAID"
    with pytest.raises(GatewayRejected) as err:
        order(pay, sink, no)
    assert err.value.code == "ORDERPAID"


# ------------------------------------------------------------------ refunds


def paid_trade(emulator: str, pay: WeChatPayV2, sink: HttpSink, total_fee: int = 1000) -> str:
    no = new_no()
    order(pay, sink, no, total_fee=total_fee)
    emulate_payment(emulator, notify=False, out_trade_no=no).raise_for_status()
    return no


def set_auto_refund_notify(emulator: str, on: bool) -> None:
    requests.post(
        f"{emulator}/_emulator/wechat/config", json={"auto_refund_notify": on}, timeout=5
    ).raise_for_status()


def test_refund_is_idempotent_by_out_refund_no(
    emulator: str, pay: WeChatPayV2, sink: HttpSink
) -> None:
    set_auto_refund_notify(emulator, False)
    no = paid_trade(emulator, pay, sink, total_fee=1000)
    refund_no = new_no("R")
    notify_url = f"{sink.url}/notify/refund"

    first = pay.refund(no, refund_no, 1000, 300, notify_url)
    second = pay.refund(no, refund_no, 1000, 300, notify_url)

    assert first == second and first.refund_fee == 300
    trade = requests.get(f"{emulator}/_emulator/wechat/trades/{no}", timeout=5).json()
    assert [r["refund_fee"] for r in trade["refunds"]] == [300]
    assert trade["refunds"][0]["status"] == "PROCESSING"


def test_over_refund_and_mismatches_are_rejected(
    emulator: str, pay: WeChatPayV2, sink: HttpSink
) -> None:
    set_auto_refund_notify(emulator, False)
    no = paid_trade(emulator, pay, sink, total_fee=1000)
    url = f"{sink.url}/notify/refund"
    pay.refund(no, new_no("R"), 1000, 600, url)

    with pytest.raises(GatewayRejected) as err:
        pay.refund(no, new_no("R"), 1000, 401, url)  # 600 + 401 > 1000
    assert err.value.code == "INVALID_REQUEST"
    with pytest.raises(GatewayRejected) as err:
        pay.refund(no, new_no("R"), 999, 100, url)  # total_fee does not match the trade
    assert err.value.code == "INVALID_REQUEST"
    assert pay.refund(no, new_no("R"), 1000, 400, url).refund_fee == 400  # exactly the rest

    unpaid = new_no()
    order(pay, sink, unpaid)
    with pytest.raises(GatewayRejected):
        pay.refund(unpaid, new_no("R"), 1990, 1, url)
    with pytest.raises(GatewayRejected) as err:
        pay.refund(new_no(), new_no("R"), 1990, 1, url)
    assert err.value.code == "ORDERNOTEXIST"


def test_same_out_refund_no_with_another_amount_is_rejected(
    emulator: str, pay: WeChatPayV2, sink: HttpSink
) -> None:
    set_auto_refund_notify(emulator, False)
    no = paid_trade(emulator, pay, sink)
    refund_no = new_no("R")
    pay.refund(no, refund_no, 1000, 100, f"{sink.url}/n")
    with pytest.raises(GatewayRejected) as err:
        pay.refund(no, refund_no, 1000, 200, f"{sink.url}/n")
    assert err.value.code == "INVALID_REQUEST"


def test_refund_notify_is_posted_automatically_and_decrypts(
    emulator: str, cfg: dict[str, Any], pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = paid_trade(emulator, pay, sink, total_fee=1000)
    refund_no = new_no("R")
    result = pay.refund(no, refund_no, 1000, 250, f"{sink.url}/notify/refund")

    (received,) = sink.wait_for(1)
    notify = pay.parse_refund_notify(received.body)
    assert notify.out_trade_no == no
    assert notify.out_refund_no == refund_no
    assert notify.refund_id == result.refund_id
    assert notify.refund_fee == 250
    assert notify.refund_status == "SUCCESS"
    # wechatpy's own decryption reads the same thing.
    sdk = WeChatPay(cfg["WECHAT_APPID"], cfg["WECHAT_PAY_API_KEY"], cfg["WECHAT_MCH_ID"])
    decrypted = sdk.parse_refund_notify_result(received.body)
    assert decrypted["refund_fee"] == 250 and decrypted["refund_status"] == "SUCCESS"
    assert decrypted["settlement_refund_fee"] == 250 and decrypted["success_time"]


def test_refund_settled_on_demand(
    emulator: str, cfg: dict[str, Any], pay: WeChatPayV2, sink: HttpSink
) -> None:
    set_auto_refund_notify(emulator, False)
    no = paid_trade(emulator, pay, sink)
    refund_no = new_no("R")
    pay.refund(no, refund_no, 1000, 1000, f"{sink.url}/notify/refund")
    sdk = WeChatPay(cfg["WECHAT_APPID"], cfg["WECHAT_PAY_API_KEY"], cfg["WECHAT_MCH_ID"])
    sdk.API_BASE_URL = emulator + "/"
    assert sdk.refund.query(out_refund_no=refund_no)["refund_status_0"] == "PROCESSING"
    assert sink.received == []

    answer = requests.post(
        f"{emulator}/_emulator/wechat/settle-refund", json={"out_refund_no": refund_no}, timeout=10
    ).json()

    assert answer["notify_status"] == 200
    assert pay.parse_refund_notify(sink.wait_for(1)[0].body).refund_status == "SUCCESS"
    assert sdk.refund.query(out_refund_no=refund_no)["refund_status_0"] == "SUCCESS"


def test_refund_notify_for_another_merchant_or_key_is_refused(
    cfg: dict[str, Any], pay: WeChatPayV2
) -> None:
    inner = {
        "out_trade_no": "T1",
        "out_refund_no": "R1",
        "refund_id": "50300000000000000000000000001",
        "refund_fee": 100,
        "refund_status": "SUCCESS",
    }

    def body(key: str, **outer: str) -> bytes:
        fields = {
            "return_code": "SUCCESS",
            "appid": cfg["WECHAT_APPID"],
            "mch_id": cfg["WECHAT_MCH_ID"],
            "nonce_str": "abc",
            "req_info": encrypt_refund_info(inner, key),
            **outer,
        }
        return to_xml(fields)

    key = cfg["WECHAT_PAY_API_KEY"]
    assert pay.parse_refund_notify(body(key)).refund_fee == 100
    for bad in (
        body(key, appid="wx0000000000000000"),
        body(key, mch_id="1234567890"),
        body("another-merchants-key-0000000000"),
        body(key, req_info="not base64!"),
        body(key, req_info="QUJD"),
        body(key, return_code="FAIL"),
        b"<xml>",
    ):
        with pytest.raises(InvalidNotify):
            pay.parse_refund_notify(bad)


# ------------------------------------------------------------------ gateway failures


def test_500_and_timeout_on_orderquery_are_unavailable(
    emulator: str, cfg: dict[str, Any], pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    order(pay, sink, no)
    arm_fault(emulator, "/pay/orderquery", "error500")
    with pytest.raises(GatewayUnavailable):
        pay.query_order(no)

    cfg["GATEWAY_TIMEOUT_SECONDS"] = 1
    arm_fault(emulator, "/pay/orderquery", "timeout", seconds=2)
    with pytest.raises(GatewayUnavailable):
        WeChatPayV2(cfg).query_order(no)


def test_business_failure_fault_is_rejected(
    emulator: str, pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    order(pay, sink, no)
    arm_fault(emulator, "/pay/orderquery", "fail", code="SYSTEMERROR", message="busy")
    with pytest.raises(GatewayRejected) as err:
        pay.query_order(no)
    assert err.value.code == "SYSTEMERROR" and err.value.message == "busy"
    assert pay.query_order(no).trade_state == "NOTPAY"  # the fault was used up


def test_500_after_the_work_then_retry_finds_the_same_order(
    emulator: str, pay: WeChatPayV2, sink: HttpSink
) -> None:
    no = new_no()
    arm_fault(emulator, "/pay/unifiedorder", "error500_after")
    with pytest.raises(GatewayUnavailable):
        order(pay, sink, no)
    prepay_id = order(pay, sink, no)
    assert (
        requests.get(f"{emulator}/_emulator/wechat/trades/{no}", timeout=5).json()["prepay_id"]
        == prepay_id
    )


def _fake_gateway_answer(cfg: dict[str, Any], key: str | None) -> bytes:
    fields = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "appid": cfg["WECHAT_APPID"],
        "mch_id": cfg["WECHAT_MCH_ID"],
        "nonce_str": "n0nce",
        "out_trade_no": "T1",
        "trade_state": "SUCCESS",
        "transaction_id": "4200000000202401010000000001",
        "total_fee": "1",
    }
    return sign_notify(fields, key) if key else to_xml(fields)


@pytest.mark.parametrize("key", ["not-the-merchant-api-key-0000000", None])
def test_answer_with_bad_or_missing_sign_is_unavailable(
    cfg: dict[str, Any], sink: HttpSink, key: str | None
) -> None:
    cfg["EMULATOR_URL"] = sink.url  # a "gateway" that signs with the wrong key, or not at all
    sink.reply_body = _fake_gateway_answer(cfg, key)
    with pytest.raises(GatewayUnavailable):
        WeChatPayV2(cfg).query_order("T1")


def test_business_failure_with_bad_sign_is_unavailable(cfg: dict[str, Any], sink: HttpSink) -> None:
    cfg["EMULATOR_URL"] = sink.url
    sink.reply_body = sign_notify(
        {
            "return_code": "SUCCESS",
            "result_code": "FAIL",
            "err_code": "ORDERPAID",
            "appid": cfg["WECHAT_APPID"],
            "mch_id": cfg["WECHAT_MCH_ID"],
            "nonce_str": "n0nce",
        },
        "not-the-merchant-api-key-0000000",
    )
    with pytest.raises(GatewayUnavailable):
        WeChatPayV2(cfg).close_order("T1")


def test_answer_that_is_not_xml_is_unavailable(cfg: dict[str, Any], sink: HttpSink) -> None:
    cfg["EMULATOR_URL"] = sink.url
    sink.reply_body = b"<html>gateway error page</html>"
    with pytest.raises(GatewayUnavailable):
        WeChatPayV2(cfg).query_order("T1")


def test_good_answer_from_fake_gateway_is_accepted(cfg: dict[str, Any], sink: HttpSink) -> None:
    # Control for the two tests above: the same answer correctly signed passes.
    cfg["EMULATOR_URL"] = sink.url
    sink.reply_body = _fake_gateway_answer(cfg, cfg["WECHAT_PAY_API_KEY"])
    assert WeChatPayV2(cfg).query_order("T1").trade_state == "SUCCESS"


# ------------------------------------------------------------------ the emulator's own checks


def test_emulator_refuses_bad_xml_and_bad_signatures(emulator: str, cfg: dict[str, Any]) -> None:
    url = f"{emulator}/pay/unifiedorder"
    for body in (b"", b"<xml><unclosed>", b"\xff\xfe garbage"):
        answer = xmltodict.parse(requests.post(url, data=body, timeout=5).text)["xml"]
        assert answer["return_code"] == "FAIL"

    fields = {
        "appid": cfg["WECHAT_APPID"],
        "mch_id": cfg["WECHAT_MCH_ID"],
        "nonce_str": "abc",
        "body": "x",
        "out_trade_no": new_no(),
        "total_fee": "1",
        "spbill_create_ip": "127.0.0.1",
        "notify_url": "http://127.0.0.1/n",
        "trade_type": "JSAPI",
        "openid": OPENID,
    }
    forged = to_xml({**fields, "sign": md5_sign(fields, "wrong-key")})
    answer = xmltodict.parse(requests.post(url, data=forged, timeout=5).text)["xml"]
    assert answer == {"return_code": "FAIL", "return_msg": "签名错误"}

    no_openid = {k: v for k, v in fields.items() if k != "openid"}
    signed = to_xml({**no_openid, "sign": md5_sign(no_openid, cfg["WECHAT_PAY_API_KEY"])})
    answer = xmltodict.parse(requests.post(url, data=signed, timeout=5).text)["xml"]
    assert answer["result_code"] == "FAIL" and answer["err_code"] == "PARAM_ERROR"
    sign = answer.pop("sign")
    assert sign == md5_sign(answer, cfg["WECHAT_PAY_API_KEY"])


def test_emulator_accepts_hmac_sha256_and_answers_in_kind(
    emulator: str, cfg: dict[str, Any], sink: HttpSink
) -> None:
    sdk = WeChatPay(cfg["WECHAT_APPID"], cfg["WECHAT_PAY_API_KEY"], cfg["WECHAT_MCH_ID"])
    sdk.API_BASE_URL = emulator + "/"
    no = new_no()
    answer = sdk.order.create(
        trade_type="JSAPI",
        body="x",
        total_fee=1,
        notify_url=f"{sink.url}/n",
        client_ip="127.0.0.1",
        user_id=OPENID,
        out_trade_no=no,
        sign_type="HMAC-SHA256",
    )
    fields = {k: v for k, v in answer.items() if k != "sign"}
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if fields[k])
    key = cfg["WECHAT_PAY_API_KEY"]
    expected = hmac.new(key.encode(), f"{text}&key={key}".encode(), hashlib.sha256)
    assert answer["sign"] == expected.hexdigest().upper()

    emulate_payment(emulator, out_trade_no=no).raise_for_status()
    body = sink.wait_for(1)[0].body
    assert xmltodict.parse(body)["xml"]["sign_type"] == "HMAC-SHA256"
    assert WeChatPayV2(cfg).parse_pay_notify(body).out_trade_no == no
