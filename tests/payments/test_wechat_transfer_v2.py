"""WeChatTransferV2 (企业付款到零钱) against the emulator, through wechatpy and real HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from payments.emulator.wechat import sign_notify, to_xml
from payments.errors import GatewayRejected, GatewayUnavailable
from payments.wechat_transfer_v2 import TransferQuery, WeChatTransferV2
from tests.payments.conftest import HttpSink, arm_fault, stats

OPENID = "oTestOpenid0000000000000000A"
TRANSFERS = "/mmpaymkttransfers/promotion/transfers"
QUERY = "/mmpaymkttransfers/gettransferinfo"


@pytest.fixture
def payer(cfg: dict[str, Any]) -> WeChatTransferV2:
    return WeChatTransferV2(cfg)


def new_no() -> str:
    return "W" + uuid.uuid4().hex[:24]


def pay(
    payer: WeChatTransferV2,
    no: str,
    amount_fen: int = 1000,
    check_name: str = "NO_CHECK",
    real_name: str | None = None,
    openid: str = OPENID,
) -> Any:
    return payer.transfer(
        no, openid, amount_fen, "分销佣金提现", check_name, real_name, client_ip="127.0.0.1"
    )


def paid_count(emulator: str, no: str) -> int:
    return int(stats(emulator)["transfers_paid"].get(no, 0))


def systemerror(emulator: str, **body: Any) -> None:
    requests.post(
        f"{emulator}/_emulator/wechat/transfer-systemerror", json=body, timeout=5
    ).raise_for_status()


# ------------------------------------------------------------------ paying


def test_transfer_pays_once_and_query_shows_it(emulator: str, payer: WeChatTransferV2) -> None:
    no = new_no()
    result = pay(payer, no, amount_fen=1234)

    assert len(result.payment_no) == 28 and result.payment_no.isdigit()
    assert result.payment_time and len(result.payment_time) == 19
    query = payer.query_transfer(no)
    assert query == TransferQuery("SUCCESS", None, result.payment_no, 1234, result.payment_time)
    assert query.raw["openid"] == OPENID
    assert paid_count(emulator, no) == 1
    assert stats(emulator)["transfers"] == 1


def test_repeat_with_the_same_number_pays_once(emulator: str, payer: WeChatTransferV2) -> None:
    no = new_no()
    first = pay(payer, no)
    second = pay(payer, no)

    assert first == second
    assert paid_count(emulator, no) == 1
    assert stats(emulator)["transfers"] == 2


def test_same_number_with_other_parameters_is_an_unknown_result(
    emulator: str, payer: WeChatTransferV2
) -> None:
    # FATAL_ERROR: the number was used; whatever it paid stands, so this is no "not paid".
    no = new_no()
    pay(payer, no, amount_fen=1000)
    with pytest.raises(GatewayUnavailable) as err:
        pay(payer, no, amount_fen=2000)
    assert err.value.code == "FATAL_ERROR"
    assert paid_count(emulator, no) == 1


def test_force_check_with_the_right_name_pays(emulator: str, payer: WeChatTransferV2) -> None:
    no = new_no()
    pay(payer, no, check_name="FORCE_CHECK", real_name="张三")
    assert payer.query_transfer(no).raw["transfer_name"] == "张三"


def test_unknown_number_queries_notfound(payer: WeChatTransferV2) -> None:
    assert payer.query_transfer(new_no()) == TransferQuery("NOTFOUND", None, None)


@pytest.mark.parametrize(("status", "reason"), [("FAILED", "收款账户异常"), ("PROCESSING", None)])
def test_query_reports_failed_and_processing(
    emulator: str, payer: WeChatTransferV2, status: str, reason: str | None
) -> None:
    no = new_no()
    pay(payer, no)
    requests.post(
        f"{emulator}/_emulator/wechat/transfer-status",
        json={"partner_trade_no": no, "status": status, "reason": reason},
        timeout=5,
    ).raise_for_status()
    query = payer.query_transfer(no)
    assert (query.status, query.reason) == (status, reason)


# ------------------------------------------------------------------ definite failures


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"amount_fen": 29}, "AMOUNT_LIMIT"),  # below WeChat's 0.3 yuan
        ({"check_name": "FORCE_CHECK", "real_name": "错误姓名"}, "NAME_MISMATCH"),
        ({"openid": "invalid-openid"}, "OPENID_ERROR"),
    ],
)
def test_definite_failures_are_rejected_and_pay_nothing(
    emulator: str, payer: WeChatTransferV2, kwargs: dict[str, Any], code: str
) -> None:
    no = new_no()
    with pytest.raises(GatewayRejected) as err:
        pay(payer, no, **kwargs)
    assert err.value.code == code
    assert paid_count(emulator, no) == 0
    assert payer.query_transfer(no).status == "NOTFOUND"


def test_minimum_amount_is_payable(emulator: str, payer: WeChatTransferV2) -> None:
    no = new_no()
    pay(payer, no, amount_fen=30)
    assert paid_count(emulator, no) == 1


@pytest.mark.parametrize(
    "code", ["NOTENOUGH", "V2_ACCOUNT_SIMPLE_BAN", "SENDNUM_LIMIT", "PARAM_ERROR"]
)
def test_business_failure_fault_is_rejected_then_the_number_can_pay(
    emulator: str, payer: WeChatTransferV2, code: str
) -> None:
    no = new_no()
    arm_fault(emulator, TRANSFERS, "fail", code=code, message="emulated")
    with pytest.raises(GatewayRejected) as err:
        pay(payer, no)
    assert err.value.code == code and err.value.message == "emulated"
    assert paid_count(emulator, no) == 0
    pay(payer, no)  # nothing was paid: the same number may pay now
    assert paid_count(emulator, no) == 1


@pytest.mark.parametrize("code", ["SYSTEMERROR", "SEND_FAILED", "A_CODE_WECHAT_ADDS_LATER"])
def test_unknown_result_codes_are_unavailable(
    emulator: str, payer: WeChatTransferV2, code: str
) -> None:
    arm_fault(emulator, TRANSFERS, "fail", code=code)
    with pytest.raises(GatewayUnavailable) as err:
        pay(payer, new_no())
    assert err.value.code == code


def test_protocol_refusal_is_rejected(cfg: dict[str, Any], emulator: str) -> None:
    cfg["WECHAT_PAY_API_KEY"] = "not-the-merchant-api-key-0000000"  # the emulator: 签名错误
    no = new_no()
    with pytest.raises(GatewayRejected) as err:
        pay(WeChatTransferV2(cfg), no)
    assert err.value.code == "FAIL"
    assert paid_count(emulator, no) == 0


# ------------------------------------------------------------------ unknown results


@pytest.mark.parametrize("paid", [True, False])
@pytest.mark.parametrize("return_fail", [False, True])
def test_systemerror_is_unavailable_and_query_tells_whether_it_paid(
    emulator: str, payer: WeChatTransferV2, paid: bool, return_fail: bool
) -> None:
    no = new_no()
    systemerror(emulator, times=1, paid=paid, return_fail=return_fail)
    with pytest.raises(GatewayUnavailable) as err:
        pay(payer, no)
    assert err.value.code == "SYSTEMERROR"
    assert payer.query_transfer(no).status == ("SUCCESS" if paid else "NOTFOUND")
    # Settling by a repeat with the same number and parameters never pays twice.
    pay(payer, no)
    assert paid_count(emulator, no) == 1


def test_500_after_the_payment_then_query_shows_success(
    emulator: str, payer: WeChatTransferV2
) -> None:
    no = new_no()
    arm_fault(emulator, TRANSFERS, "error500_after")
    with pytest.raises(GatewayUnavailable):
        pay(payer, no)
    assert payer.query_transfer(no).status == "SUCCESS"
    assert paid_count(emulator, no) == 1


def test_timeout_then_query_shows_success(
    emulator: str, cfg: dict[str, Any], payer: WeChatTransferV2
) -> None:
    no = new_no()
    cfg["GATEWAY_TIMEOUT_SECONDS"] = 1
    arm_fault(emulator, TRANSFERS, "timeout", seconds=2)
    with pytest.raises(GatewayUnavailable):
        pay(WeChatTransferV2(cfg), no)
    query = payer.query_transfer(no)
    assert query.status == "SUCCESS" and query.amount_fen == 1000
    assert paid_count(emulator, no) == 1


def test_500_before_the_payment_pays_nothing(emulator: str, payer: WeChatTransferV2) -> None:
    no = new_no()
    arm_fault(emulator, TRANSFERS, "error500")
    with pytest.raises(GatewayUnavailable):
        pay(payer, no)
    assert payer.query_transfer(no).status == "NOTFOUND"
    assert paid_count(emulator, no) == 0


def test_query_failures(emulator: str, payer: WeChatTransferV2) -> None:
    arm_fault(emulator, QUERY, "error500")
    with pytest.raises(GatewayUnavailable):
        payer.query_transfer(new_no())
    arm_fault(emulator, QUERY, "fail", code="SYSTEMERROR")
    with pytest.raises(GatewayUnavailable):
        payer.query_transfer(new_no())
    arm_fault(emulator, QUERY, "fail", code="FREQ_LIMIT")
    with pytest.raises(GatewayRejected) as err:
        payer.query_transfer(new_no())
    assert err.value.code == "FREQ_LIMIT"


# ------------------------------------------------------------------ untrusted answers


def _answer(cfg: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "return_code": "SUCCESS",
        "mch_appid": cfg["WECHAT_APPID"],
        "mchid": cfg["WECHAT_MCH_ID"],
        "nonce_str": "n0nce",
        "result_code": "SUCCESS",
        "partner_trade_no": "W1",
        "payment_no": "1000018301202401010000000001",
        "payment_time": "2024-01-01 12:00:00",
        **fields,
    }


def _fake(cfg: dict[str, Any], sink: HttpSink, body: bytes) -> WeChatTransferV2:
    cfg["EMULATOR_URL"] = sink.url
    sink.reply_body = body
    return WeChatTransferV2(cfg)


def test_unsigned_answer_is_accepted_as_wechat_sends_it(
    cfg: dict[str, Any], sink: HttpSink
) -> None:
    payer = _fake(cfg, sink, to_xml(_answer(cfg)))
    assert pay(payer, "W1").payment_no == "1000018301202401010000000001"


def test_answer_signed_with_our_key_is_accepted(cfg: dict[str, Any], sink: HttpSink) -> None:
    payer = _fake(cfg, sink, sign_notify(_answer(cfg), cfg["WECHAT_PAY_API_KEY"]))
    assert pay(payer, "W1").payment_no == "1000018301202401010000000001"


@pytest.mark.parametrize(
    "result_code_fields",
    [{}, {"result_code": "FAIL", "err_code": "NOTENOUGH", "payment_no": None}],
)
def test_answer_with_a_bad_sign_is_unavailable(
    cfg: dict[str, Any], sink: HttpSink, result_code_fields: dict[str, Any]
) -> None:
    # A forged "not paid" must not pass for one, nor a forged "paid".
    body = sign_notify(_answer(cfg, **result_code_fields), "not-the-merchant-api-key-0000000")
    with pytest.raises(GatewayUnavailable):
        pay(_fake(cfg, sink, body), "W1")


@pytest.mark.parametrize(
    "fields",
    [
        {"mchid": "1234567890"},
        {"mch_appid": "wx0000000000000000"},
        {"partner_trade_no": "W2"},
        {"payment_no": None},
    ],
)
def test_answer_for_something_else_is_unavailable(
    cfg: dict[str, Any], sink: HttpSink, fields: dict[str, Any]
) -> None:
    with pytest.raises(GatewayUnavailable):
        pay(_fake(cfg, sink, to_xml(_answer(cfg, **fields))), "W1")


@pytest.mark.parametrize(
    "body", [b"<html>gateway error page</html>", b"<xml><return_code>", b"<xml><a><b/></a></xml>"]
)
def test_unreadable_answer_is_unavailable(cfg: dict[str, Any], sink: HttpSink, body: bytes) -> None:
    with pytest.raises(GatewayUnavailable):
        pay(_fake(cfg, sink, body), "W1")


def test_query_answer_with_unknown_status_is_unavailable(
    cfg: dict[str, Any], sink: HttpSink
) -> None:
    body = to_xml(
        {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "appid": cfg["WECHAT_APPID"],
            "mch_id": cfg["WECHAT_MCH_ID"],
            "partner_trade_no": "W1",
            "detail_id": "1000018301202401010000000001",
            "status": "MAYBE",
        }
    )
    with pytest.raises(GatewayUnavailable):
        _fake(cfg, sink, body).query_transfer("W1")


# ------------------------------------------------------------------ arguments and settings


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount_fen": 0},
        {"amount_fen": 10.5},
        {"amount_fen": True},
        {"check_name": "OPTION_CHECK"},
        {"check_name": "FORCE_CHECK"},
        {"real_name": "张三"},
        {"openid": ""},
    ],
)
def test_malformed_arguments_send_nothing(
    emulator: str, payer: WeChatTransferV2, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        pay(payer, new_no(), **kwargs)
    assert stats(emulator)["transfers"] == 0


def test_live_gateway_without_client_certificate_is_refused(cfg: dict[str, Any]) -> None:
    cfg["GATEWAY"] = "live"
    with pytest.raises(RuntimeError, match="WECHAT_PAY_CERT_PATH"):
        WeChatTransferV2(cfg)
    cfg.update(WECHAT_PAY_CERT_PATH="/etc/wxdist/apiclient_cert.pem")
    cfg.update(WECHAT_PAY_KEY_PATH="/etc/wxdist/apiclient_key.pem")
    assert WeChatTransferV2(cfg).mch_id == cfg["WECHAT_MCH_ID"]
