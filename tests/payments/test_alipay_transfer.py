"""Alipay payouts (alipay.fund.trans.uni.transfer / common.query) against the gateway
emulator, through the real alipay-sdk-python over HTTP."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from payments.alipay_transfer import (
    AlipayTransferGateway,
    TransferQuery,
    TransferResult,
)
from payments.emulator.alipay import rsa2_sign
from payments.errors import GatewayRejected, GatewayUnavailable
from tests.payments.conftest import HttpSink, arm_fault
from tests.payments.test_alipay import new_rsa_key, pkcs1_pem, signed_params, spki_pem
from tests.payments.test_alipay import verified_answer as _verified_answer

TRANSFER = "alipay.fund.trans.uni.transfer"
QUERY = "alipay.fund.trans.common.query"
PAYEE = "payee@example.com"
NAME = "张三"
TITLE = "佣金提现"
LOGON = "ALIPAY_LOGON_ID"


@pytest.fixture(autouse=True)
def _fresh_alipay(emulator: str) -> None:
    """Forget the emulator's Alipay trades, payouts, balance and counters before each test."""
    requests.post(f"{emulator}/_emulator/alipay/reset", timeout=5).raise_for_status()


@pytest.fixture
def gateway(cfg: dict[str, Any]) -> AlipayTransferGateway:
    return AlipayTransferGateway(cfg)


def new_no() -> str:
    return "W" + uuid.uuid4().hex[:24]


def pay_out(gateway: AlipayTransferGateway, out_biz_no: str, amount_fen: int = 1234) -> Any:
    return gateway.transfer(out_biz_no, amount_fen, PAYEE, NAME, TITLE, remark="第1期")


def stats(cfg: dict[str, Any]) -> dict[str, Any]:
    answer = requests.get(cfg["EMULATOR_URL"] + "/_emulator/alipay/stats", timeout=5)
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def paid(cfg: dict[str, Any]) -> dict[str, int]:
    return stats(cfg)["transfers_paid"]  # type: ignore[no-any-return]


def record(cfg: dict[str, Any], out_biz_no: str) -> requests.Response:
    return requests.get(f"{cfg['EMULATOR_URL']}/_emulator/alipay/transfers/{out_biz_no}", timeout=5)


def control(cfg: dict[str, Any], path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(cfg["EMULATOR_URL"] + path, json=body, timeout=5)


def arm(cfg: dict[str, Any], key: str, mode: str, **extra: Any) -> None:
    arm_fault(cfg["EMULATOR_URL"], key, mode, **extra)


def raw_call(cfg: dict[str, Any], method: str, biz: dict[str, Any]) -> dict[str, Any]:
    """A hand-built, correctly signed gateway call; the verified response object."""
    params = signed_params(cfg, method, json.dumps(biz, ensure_ascii=False))
    answer = requests.post(cfg["EMULATOR_URL"] + "/gateway.do", data=params, timeout=5)
    assert answer.status_code == 200
    key, body = _verified_answer(cfg, answer.text)
    assert key == method.replace(".", "_") + "_response"
    return body


def transfer_biz(out_biz_no: str, amount: str = "12.34", **overrides: Any) -> dict[str, Any]:
    biz: dict[str, Any] = {
        "out_biz_no": out_biz_no,
        "trans_amount": amount,
        "product_code": "TRANS_ACCOUNT_NO_PWD",
        "biz_scene": "DIRECT_TRANSFER",
        "order_title": TITLE,
        "payee_info": {"identity": PAYEE, "identity_type": "ALIPAY_LOGON_ID", "name": NAME},
    }
    biz.update(overrides)
    return biz


# --------------------------------------------------------------------------- success


def test_transfer_pays_and_query_tells_success(
    cfg: dict[str, Any], gateway: AlipayTransferGateway
) -> None:
    out_biz_no = new_no()
    result = pay_out(gateway, out_biz_no, 1234)
    assert isinstance(result, TransferResult)
    assert result.status == "SUCCESS"
    assert re.fullmatch(r"[0-9]{32}", result.order_id)
    assert result.pay_fund_order_id and re.fullmatch(r"[0-9]{32}", result.pay_fund_order_id)
    assert result.trans_date and re.fullmatch(
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", result.trans_date
    )
    seen = record(cfg, out_biz_no).json()
    assert (seen["trans_amount"], seen["amount_fen"], seen["paid"]) == ("12.34", 1234, 1)
    payee = {"identity": PAYEE, "identity_type": "ALIPAY_LOGON_ID", "name": NAME}
    assert seen["payee_info"] == payee
    assert (seen["product_code"], seen["biz_scene"]) == ("TRANS_ACCOUNT_NO_PWD", "DIRECT_TRANSFER")
    assert (seen["order_title"], seen["remark"], seen["order_id"]) == (
        TITLE,
        "第1期",
        result.order_id,
    )
    assert gateway.query_transfer(out_biz_no) == TransferQuery(
        status="SUCCESS",
        fail_reason=None,
        order_id=result.order_id,
        error_code=None,
        amount_fen=1234,
    )
    assert stats(cfg) == {TRANSFER: 1, QUERY: 1, "transfers_paid": {out_biz_no: 1}}


@pytest.mark.parametrize(
    ("fen", "yuan"), [(10, "0.10"), (11, "0.11"), (100, "1.00"), (4_999_999, "49999.99"),
                      (5_000_000, "50000.00")]
)  # fmt: skip
def test_amount_goes_as_exact_yuan(
    cfg: dict[str, Any], gateway: AlipayTransferGateway, fen: int, yuan: str
) -> None:
    out_biz_no = new_no()
    pay_out(gateway, out_biz_no, fen)
    assert (record(cfg, out_biz_no).json()["trans_amount"]) == yuan
    assert gateway.query_transfer(out_biz_no).amount_fen == fen


def test_transfer_refuses_bad_arguments_before_calling(
    cfg: dict[str, Any], gateway: AlipayTransferGateway
) -> None:
    with pytest.raises(ValueError):
        gateway.transfer(new_no(), 9, PAYEE, NAME, TITLE)
    with pytest.raises(ValueError):
        gateway.transfer(new_no(), 100, "", NAME, TITLE)
    with pytest.raises(ValueError):
        gateway.transfer(new_no(), 100, PAYEE, "", TITLE)
    with pytest.raises(ValueError):
        gateway.transfer("", 100, PAYEE, NAME, TITLE)
    assert stats(cfg) == {"transfers_paid": {}}


# --------------------------------------------------------------------------- idempotency


def test_repeat_with_same_number_pays_once(
    cfg: dict[str, Any], gateway: AlipayTransferGateway
) -> None:
    out_biz_no = new_no()
    first = pay_out(gateway, out_biz_no, 500)
    again = pay_out(gateway, out_biz_no, 500)
    assert again == first
    assert paid(cfg) == {out_biz_no: 1}


def test_same_number_other_parameters_is_not_a_definite_failure(
    cfg: dict[str, Any], gateway: AlipayTransferGateway
) -> None:
    """Alipay refuses the second request (PAYMENT_INFO_INCONSISTENCY) but the first one
    paid: the adapter must not call that a definite failure of the out_biz_no."""
    out_biz_no = new_no()
    first = pay_out(gateway, out_biz_no, 500)
    with pytest.raises(GatewayUnavailable) as info:
        pay_out(gateway, out_biz_no, 501)
    assert info.value.code == "PAYMENT_INFO_INCONSISTENCY"
    with pytest.raises(GatewayUnavailable):
        gateway.transfer(out_biz_no, 500, "other@example.com", NAME, TITLE, remark="第1期")
    assert paid(cfg) == {out_biz_no: 1}
    settled = gateway.query_transfer(out_biz_no)
    assert (settled.status, settled.amount_fen) == ("SUCCESS", 500)
    assert settled.order_id == first.order_id


# --------------------------------------------------------------------------- definite failures


@pytest.mark.parametrize(
    ("login_id", "name", "fen", "code"),
    [
        (PAYEE, "错误姓名", 1234, "PAYEE_USER_INFO_ERROR"),
        ("nobody@example.com", NAME, 1234, "PAYEE_NOT_EXIST"),
        ("not-an-account", NAME, 1234, "PAYEE_NOT_EXIST"),
        ("frozen@example.com", NAME, 1234, "PAYEE_ACCOUNT_STATUS_ERROR"),
        (PAYEE, NAME, 5_000_001, "EXCEED_LIMIT_SM_AMOUNT"),
    ],
)
def test_definite_failures_are_rejected_and_pay_nothing(
    cfg: dict[str, Any],
    gateway: AlipayTransferGateway,
    login_id: str,
    name: str,
    fen: int,
    code: str,
) -> None:
    out_biz_no = new_no()
    with pytest.raises(GatewayRejected) as info:
        gateway.transfer(out_biz_no, fen, login_id, name, TITLE)
    assert info.value.code == code
    assert gateway.query_transfer(out_biz_no) == TransferQuery("NOT_FOUND", None, None)
    assert paid(cfg) == {}
    assert record(cfg, out_biz_no).status_code == 404


def test_merchant_balance_short_is_rejected(
    cfg: dict[str, Any], gateway: AlipayTransferGateway
) -> None:
    assert control(cfg, "/_emulator/alipay/balance", {"balance_fen": 1000}).ok
    first, short, rest = new_no(), new_no(), new_no()
    pay_out(gateway, first, 600)
    with pytest.raises(GatewayRejected) as info:
        pay_out(gateway, short, 500)
    assert info.value.code == "PAYER_BALANCE_NOT_ENOUGH"
    pay_out(gateway, rest, 400)
    assert paid(cfg) == {first: 1, rest: 1}
    # After a top-up the refused number can still be used.
    assert control(cfg, "/_emulator/alipay/balance", {"balance_fen": None}).ok
    assert pay_out(gateway, short, 500).status == "SUCCESS"
    assert control(cfg, "/_emulator/alipay/balance", {"balance_fen": -1}).status_code == 400


@pytest.mark.parametrize(
    "code",
    [
        "BALANCE_IS_NOT_ENOUGH",
        "PAYER_BALANCE_NOT_ENOUGH",
        "EXCEED_LIMIT_SM_AMOUNT",
        "INVALID_PARAMETER",
        "PAYEE_NOT_EXIST",
        "PAYEE_USER_INFO_ERROR",
        "PAYEE_ACCOUNT_STATUS_ERROR",
    ],
)
def test_fail_fault_with_definite_code_is_rejected(
    cfg: dict[str, Any], gateway: AlipayTransferGateway, code: str
) -> None:
    arm(cfg, TRANSFER, "fail", code=code, message="emulated")
    out_biz_no = new_no()
    with pytest.raises(GatewayRejected) as info:
        pay_out(gateway, out_biz_no)
    assert (info.value.code, info.value.message) == (code, f"Alipay {TRANSFER}: emulated")
    assert paid(cfg) == {}
    assert pay_out(gateway, out_biz_no).status == "SUCCESS"  # the fault was used up


@pytest.mark.parametrize(
    "code", ["SYSTEM_ERROR", "isp.unknow-error", "isp.rpc-timeout", "PAYMENT_INFO_INCONSISTENCY"]
)
def test_fail_fault_with_unknown_result_code_is_unavailable(
    cfg: dict[str, Any], gateway: AlipayTransferGateway, code: str
) -> None:
    arm(cfg, TRANSFER, "fail", code=code)
    with pytest.raises(GatewayUnavailable) as info:
        pay_out(gateway, new_no())
    assert info.value.code == code


# --------------------------------------------------------------------------- unknown results


def test_error500_after_work_is_unavailable_and_query_settles_it(
    cfg: dict[str, Any], gateway: AlipayTransferGateway
) -> None:
    out_biz_no = new_no()
    arm(cfg, TRANSFER, "error500_after")
    with pytest.raises(GatewayUnavailable):
        pay_out(gateway, out_biz_no, 700)
    settled = gateway.query_transfer(out_biz_no)
    assert (settled.status, settled.amount_fen) == ("SUCCESS", 700)
    assert paid(cfg) == {out_biz_no: 1}
    # Sending it again with the same number is also safe: same order, no second payment.
    assert pay_out(gateway, out_biz_no, 700).order_id == settled.order_id
    assert paid(cfg) == {out_biz_no: 1}


def test_timeout_is_unavailable_and_query_settles_it(cfg: dict[str, Any]) -> None:
    impatient = AlipayTransferGateway({**cfg, "GATEWAY_TIMEOUT_SECONDS": 1})
    out_biz_no = new_no()
    arm(cfg, TRANSFER, "timeout", seconds=2)
    started = time.monotonic()
    with pytest.raises(GatewayUnavailable):
        pay_out(impatient, out_biz_no, 800)
    assert time.monotonic() - started < 1.9
    assert impatient.query_transfer(out_biz_no).status == "SUCCESS"
    assert paid(cfg) == {out_biz_no: 1}


def test_error500_before_work_is_unavailable_and_retry_pays_once(
    cfg: dict[str, Any], gateway: AlipayTransferGateway
) -> None:
    out_biz_no = new_no()
    arm(cfg, TRANSFER, "error500")
    with pytest.raises(GatewayUnavailable):
        pay_out(gateway, out_biz_no, 900)
    assert gateway.query_transfer(out_biz_no).status == "NOT_FOUND"
    assert paid(cfg) == {}
    assert pay_out(gateway, out_biz_no, 900).status == "SUCCESS"
    assert paid(cfg) == {out_biz_no: 1}


def test_forged_answer_signature_is_unavailable(cfg: dict[str, Any]) -> None:
    fooled = AlipayTransferGateway({**cfg, "ALIPAY_PUBLIC_KEY": spki_pem(new_rsa_key())})
    out_biz_no = new_no()
    with pytest.raises(GatewayUnavailable):
        pay_out(fooled, out_biz_no)
    with pytest.raises(GatewayUnavailable):
        fooled.query_transfer(out_biz_no)
    # The emulator did pay: exactly why a bad signature means "unknown", not "failed".
    assert AlipayTransferGateway(cfg).query_transfer(out_biz_no).status == "SUCCESS"
    assert paid(cfg) == {out_biz_no: 1}


def test_query_failures_are_unavailable(
    cfg: dict[str, Any], gateway: AlipayTransferGateway
) -> None:
    out_biz_no = new_no()
    pay_out(gateway, out_biz_no)
    arm(cfg, QUERY, "error500")
    with pytest.raises(GatewayUnavailable):
        gateway.query_transfer(out_biz_no)
    arm(cfg, QUERY, "fail", code="SYSTEM_ERROR")
    with pytest.raises(GatewayUnavailable):
        gateway.query_transfer(out_biz_no)
    nowhere = AlipayTransferGateway({**cfg, "EMULATOR_URL": "http://127.0.0.1:9"})
    with pytest.raises(GatewayUnavailable):
        nowhere.query_transfer(out_biz_no)
    with pytest.raises(GatewayUnavailable):
        pay_out(nowhere, new_no())
    assert gateway.query_transfer(out_biz_no).status == "SUCCESS"


def test_request_signed_with_another_key_is_refused(cfg: dict[str, Any]) -> None:
    intruder = AlipayTransferGateway({**cfg, "ALIPAY_APP_PRIVATE_KEY": pkcs1_pem(new_rsa_key())})
    with pytest.raises(GatewayRejected) as info:
        pay_out(intruder, new_no())
    assert info.value.code == "isv.invalid-signature"
    stranger = AlipayTransferGateway({**cfg, "ALIPAY_APP_ID": "2021000000009999"})
    with pytest.raises(GatewayRejected) as info:
        pay_out(stranger, new_no())
    assert info.value.code == "isv.invalid-app-id"
    assert paid(cfg) == {}


# --------------------------------------------------------------------------- query states


@pytest.mark.parametrize(
    ("status", "error_code", "fail_reason"),
    [("DEALING", None, None), ("FAIL", "PAYEE_ACCOUNT_STATUS_ERROR", "收款方账号异常"),
     ("REFUND", "PAYEE_ACCOUNT_CLOSED", "收款账号已注销, 资金已退回")],
)  # fmt: skip
def test_query_reports_later_states(
    cfg: dict[str, Any],
    gateway: AlipayTransferGateway,
    status: str,
    error_code: str | None,
    fail_reason: str | None,
) -> None:
    out_biz_no = new_no()
    result = pay_out(gateway, out_biz_no, 300)
    moved = control(
        cfg,
        f"/_emulator/alipay/transfers/{out_biz_no}/status",
        {"status": status, "error_code": error_code, "fail_reason": fail_reason},
    )
    assert moved.ok, moved.text
    assert gateway.query_transfer(out_biz_no) == TransferQuery(
        status=status,
        fail_reason=fail_reason,
        order_id=result.order_id,
        error_code=error_code,
        amount_fen=300,
    )
    assert paid(cfg) == {out_biz_no: 1}


def test_status_control_validates(cfg: dict[str, Any], gateway: AlipayTransferGateway) -> None:
    out_biz_no = new_no()
    path = f"/_emulator/alipay/transfers/{out_biz_no}/status"
    assert control(cfg, path, {"status": "FAIL"}).status_code == 404
    pay_out(gateway, out_biz_no)
    assert control(cfg, path, {"status": "LOST"}).status_code == 400
    assert record(cfg, new_no()).status_code == 404


# ------------------------------------------------------------- answers from a fake gateway


def signed_body(cfg: dict[str, Any], method: str, payload: dict[str, Any]) -> bytes:
    key = serialization.load_pem_private_key(cfg["EMULATOR_ALIPAY_PRIVATE_KEY"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    name = method.replace(".", "_") + "_response"
    return ('{"' + name + '":' + text + ',"sign":"' + rsa2_sign(key, text) + '"}').encode()


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        pytest.param(
            {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.x"},
            GatewayUnavailable,
            id="20000",
        ),
        pytest.param(
            {"code": "20000", "msg": "Service Currently Unavailable"},
            GatewayUnavailable,
            id="20000-without-sub-code",
        ),
        pytest.param(
            {"code": "40004", "msg": "Business Failed", "sub_code": "REQUEST_PROCESSING"},
            GatewayUnavailable,
            id="processing",
        ),
        pytest.param(
            {
                "code": "10000",
                "msg": "Success",
                "out_biz_no": "OTHER",
                "order_id": "1",
                "status": "SUCCESS",
            },
            GatewayUnavailable,
            id="answer-for-another-number",
        ),
        pytest.param(
            {"code": "10000", "msg": "Success", "status": "SUCCESS"},
            GatewayUnavailable,
            id="no-order-id",
        ),
        pytest.param(
            {"code": "10000", "msg": "Success", "order_id": "1", "status": "WEIRD"},
            GatewayUnavailable,
            id="unknown-status",
        ),
        pytest.param(
            {"code": "10000", "msg": "Success", "order_id": "1", "status": "FAIL"},
            GatewayRejected,
            id="status-fail",
        ),
        pytest.param(
            {"code": "40004", "msg": "Business Failed", "sub_code": "BALANCE_IS_NOT_ENOUGH"},
            GatewayRejected,
            id="merchant-balance",
        ),
        pytest.param(
            {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"},
            GatewayRejected,
            id="isv",
        ),
    ],
)
def test_transfer_answers_are_judged(
    cfg: dict[str, Any], sink: HttpSink, payload: dict[str, Any], error: type[Exception]
) -> None:
    sink.reply_body = signed_body(cfg, TRANSFER, payload)
    sink.reply_content_type = "application/json"
    fake = AlipayTransferGateway({**cfg, "EMULATOR_URL": sink.url})
    with pytest.raises(error):
        pay_out(fake, "W1")
    assert sink.wait_for(1)[0].path == "/gateway.do"


def test_dealing_answer_is_returned(cfg: dict[str, Any], sink: HttpSink) -> None:
    payload = {
        "code": "10000",
        "msg": "Success",
        "out_biz_no": "W1",
        "order_id": "42",
        "status": "DEALING",
    }
    sink.reply_body = signed_body(cfg, TRANSFER, payload)
    sink.reply_content_type = "application/json"
    fake = AlipayTransferGateway({**cfg, "EMULATOR_URL": sink.url})
    assert pay_out(fake, "W1") == TransferResult("42", None, "DEALING", None)


@pytest.mark.parametrize(
    ("status", "expected"), [("INIT", "DEALING"), ("WAIT_PAY", "DEALING"), ("CLOSED", "FAIL")]
)
def test_query_maps_other_statuses(
    cfg: dict[str, Any], sink: HttpSink, status: str, expected: str
) -> None:
    payload = {
        "code": "10000",
        "msg": "Success",
        "out_biz_no": "W1",
        "order_id": "42",
        "status": status,
        "trans_amount": "1.5",
    }
    sink.reply_body = signed_body(cfg, QUERY, payload)
    sink.reply_content_type = "application/json"
    fake = AlipayTransferGateway({**cfg, "EMULATOR_URL": sink.url})
    assert fake.query_transfer("W1") == TransferQuery(expected, None, "42", None, 150)
    sink.reply_body = signed_body(cfg, QUERY, {**payload, "status": "ODD"})
    with pytest.raises(GatewayUnavailable):
        fake.query_transfer("W1")
    sink.reply_body = signed_body(cfg, QUERY, {**payload, "trans_amount": "1.505"})
    with pytest.raises(GatewayUnavailable):
        fake.query_transfer("W1")


# --------------------------------------------------------------------------- emulator edges


def test_emulator_checks_transfer_requests(cfg: dict[str, Any]) -> None:
    out_biz_no = new_no()
    below = raw_call(cfg, TRANSFER, transfer_biz(out_biz_no, "0.09"))
    assert (below["code"], below["sub_code"], below["out_biz_no"]) == (
        "40004",
        "EXCEED_LIMIT_SM_MIN_AMOUNT",
        out_biz_no,
    )
    for bad in (
        transfer_biz(out_biz_no, "1.001"),
        transfer_biz(out_biz_no, "-1"),
        transfer_biz(out_biz_no, product_code="STD_RED_PACKET"),
        transfer_biz(out_biz_no, biz_scene="PERSONAL_PAY"),
        transfer_biz(out_biz_no, order_title=""),
        transfer_biz(out_biz_no, payee_info="x"),
        transfer_biz(out_biz_no, payee_info={"identity": PAYEE, "identity_type": LOGON}),
        transfer_biz(out_biz_no, payee_info={"identity": PAYEE, "identity_type": "EMAIL"}),
        transfer_biz("a b"),
    ):
        answer = raw_call(cfg, TRANSFER, bad)
        assert (answer["code"], answer["sub_code"]) == ("40004", "INVALID_PARAMETER"), bad
    ok = raw_call(cfg, TRANSFER, transfer_biz(out_biz_no, "0.1"))
    assert (ok["code"], ok["status"]) == ("10000", "SUCCESS")
    by_user_id = transfer_biz(
        new_no(), payee_info={"identity": "2088102122524333", "identity_type": "ALIPAY_USER_ID"}
    )
    assert raw_call(cfg, TRANSFER, by_user_id)["status"] == "SUCCESS"


def test_emulator_query_lookups(cfg: dict[str, Any], gateway: AlipayTransferGateway) -> None:
    out_biz_no = new_no()
    result = pay_out(gateway, out_biz_no)
    missing_scene = raw_call(cfg, QUERY, {"out_biz_no": out_biz_no})
    assert missing_scene["sub_code"] == "INVALID_PARAMETER"
    assert raw_call(cfg, QUERY, {})["sub_code"] == "INVALID_PARAMETER"
    other_product = raw_call(
        cfg,
        QUERY,
        {"out_biz_no": out_biz_no, "product_code": "STD_RED_PACKET", "biz_scene": "PERSONAL_PAY"},
    )
    assert other_product["sub_code"] == "ORDER_NOT_EXIST"
    by_order = raw_call(cfg, QUERY, {"order_id": result.order_id})
    assert (by_order["out_biz_no"], by_order["status"]) == (out_biz_no, "SUCCESS")
    by_fund_order = raw_call(cfg, QUERY, {"pay_fund_order_id": result.pay_fund_order_id})
    assert by_fund_order["order_id"] == result.order_id
    assert raw_call(cfg, QUERY, {"order_id": "1"})["sub_code"] == "ORDER_NOT_EXIST"


def test_reset_forgets_transfers(cfg: dict[str, Any], gateway: AlipayTransferGateway) -> None:
    out_biz_no = new_no()
    pay_out(gateway, out_biz_no)
    control(cfg, "/_emulator/alipay/balance", {"balance_fen": 5})
    requests.post(cfg["EMULATOR_URL"] + "/_emulator/alipay/reset", timeout=5).raise_for_status()
    assert stats(cfg) == {"transfers_paid": {}}
    assert gateway.query_transfer(out_biz_no).status == "NOT_FOUND"
    assert pay_out(gateway, new_no(), 100).status == "SUCCESS"  # balance unlimited again
