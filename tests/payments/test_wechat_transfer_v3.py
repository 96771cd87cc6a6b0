"""WeChatTransferV3 (商家转账) against the emulator, through wechatpayv3 and real HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config import ConfigError, load_settings
from payments.emulator.wechat_v3 import (
    build_notify,
    encrypt_resource,
    load_private_key,
    signed_headers,
)
from payments.errors import GatewayRejected, GatewayUnavailable, InvalidNotify
from payments.wechat_transfer_v3 import Bill, WeChatTransferV3
from tests.payments.conftest import HttpSink, arm_fault

OPENID = "oTestOpenid0000000000000000A"
CREATE = "/v3/fund-app/mch-transfer/transfer-bills"


@pytest.fixture
def v3(cfg: dict[str, Any]) -> WeChatTransferV3:
    return WeChatTransferV3(cfg)


def new_no() -> str:
    return "B" + uuid.uuid4().hex[:24]


def create(
    v3: WeChatTransferV3, sink: HttpSink, no: str, amount_fen: int = 500, **kwargs: Any
) -> Bill:
    args: dict[str, Any] = {"notify_url": f"{sink.url}/notify/transfer", **kwargs}
    return v3.create_bill(no, OPENID, amount_fen, "分销佣金提现", **args)


def control(emulator: str, action: str, **body: Any) -> requests.Response:
    return requests.post(f"{emulator}/_emulator/wechat/v3/{action}", json=body, timeout=10)


def v3_stats(emulator: str) -> dict[str, Any]:
    res = requests.get(f"{emulator}/_emulator/wechat/v3/stats", timeout=5)
    res.raise_for_status()
    return res.json()  # type: ignore[no-any-return]


def paid(emulator: str, no: str) -> int:
    return int(v3_stats(emulator)["paid"].get(no, 0))


def rsa_pem(private: bool = True) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def wait_for_state(v3: WeChatTransferV3, no: str, state: str, timeout: float = 5.0) -> Bill:
    deadline = time.monotonic() + timeout
    while True:
        bill = v3.query_bill(no)
        if bill.state == state or time.monotonic() > deadline:
            assert bill.state == state
            return bill
        time.sleep(0.05)


# ------------------------------------------------------------------ the happy path


def test_bill_waits_for_the_user_then_confirm_pays_and_notifies(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    bill = create(v3, sink, no, amount_fen=1234)

    assert bill.state == "WAIT_USER_CONFIRM" and bill.package_info
    assert bill.transfer_bill_no and len(bill.transfer_bill_no) == 40
    queried = v3.query_bill(no)
    assert queried.state == "WAIT_USER_CONFIRM" and queried.amount_fen == 1234
    assert queried.package_info is None  # queries do not carry it
    assert paid(emulator, no) == 0

    answer = control(emulator, "confirm", out_bill_no=no).json()

    assert answer["state"] == "SUCCESS" and answer["notify_status"] == 200
    (received,) = sink.wait_for(1)
    assert received.path == "/notify/transfer"
    assert received.headers["Wechatpay-Serial"] == v3.public_key_id
    notify = v3.parse_notify(received.headers, received.body)
    assert notify.out_bill_no == no and notify.state == "SUCCESS" and notify.final
    assert notify.transfer_bill_no == bill.transfer_bill_no and notify.amount_fen == 1234
    assert notify.raw["openid"] == OPENID
    assert v3.query_bill(no).state == "SUCCESS"
    assert paid(emulator, no) == 1
    # WeChat's own SDK reads the same notify.
    sdk_view = v3._pay.callback(received.headers, received.body)
    assert sdk_view["resource"]["state"] == "SUCCESS"


def test_create_is_idempotent_and_pays_once(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    first = create(v3, sink, no)
    again = create(v3, sink, no)
    assert again == first and again.package_info == first.package_info

    control(emulator, "confirm", out_bill_no=no).raise_for_status()
    after = create(v3, sink, no)
    assert after.state == "SUCCESS" and after.package_info is None
    assert control(emulator, "confirm", out_bill_no=no).status_code == 409
    assert paid(emulator, no) == 1
    assert v3_stats(emulator)["create"] == 3


def test_same_number_with_other_parameters_is_rejected(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    create(v3, sink, no, amount_fen=500)
    with pytest.raises(GatewayRejected) as err:
        create(v3, sink, no, amount_fen=600)
    assert err.value.code == "INVALID_REQUEST"
    assert v3.query_bill(no).amount_fen == 500  # the first bill stands


def test_user_name_is_sent_encrypted(emulator: str, v3: WeChatTransferV3, sink: HttpSink) -> None:
    no = new_no()
    create(v3, sink, no, amount_fen=200_000, user_name="张三")
    held = requests.get(f"{emulator}/_emulator/wechat/v3/bills/{no}", timeout=5).json()
    assert held["user_name"] == "张三" and held["transfer_amount"] == 200_000


def test_unknown_number_is_not_found(v3: WeChatTransferV3) -> None:
    no = new_no()
    assert v3.query_bill(no) == Bill(no, None, "NOT_FOUND")


# ------------------------------------------------------------------ expiry, cancel, failure


def test_unconfirmed_bill_expires_cancelled_with_notify(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    create(v3, sink, no)
    assert control(emulator, "expire", out_bill_no=no).json()["notify_status"] == 200
    notify = v3.parse_notify(sink.wait_for(1)[0].headers, sink.received[0].body)
    assert notify.state == "CANCELLED" and notify.final
    assert v3.query_bill(no).state == "CANCELLED"
    assert control(emulator, "confirm", out_bill_no=no).status_code == 409
    assert paid(emulator, no) == 0


def test_cancel_goes_canceling_then_cancelled(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    create(v3, sink, no)
    cancelled = v3.cancel_bill(no)
    assert cancelled.state in ("CANCELING", "CANCELLED") and cancelled.package_info is None

    wait_for_state(v3, no, "CANCELLED")
    notify = v3.parse_notify(sink.wait_for(1)[0].headers, sink.received[0].body)
    assert notify.state == "CANCELLED"
    assert v3.cancel_bill(no).state == "CANCELLED"  # cancelling again changes nothing
    assert paid(emulator, no) == 0


def test_cancel_held_in_canceling_until_settled(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    control(emulator, "config", auto_settle_cancel=False).raise_for_status()
    no = new_no()
    create(v3, sink, no)
    assert v3.cancel_bill(no).state == "CANCELING"
    assert v3.query_bill(no).state == "CANCELING"
    assert control(emulator, "confirm", out_bill_no=no).status_code == 409
    control(emulator, "expire", out_bill_no=no).raise_for_status()
    assert v3.query_bill(no).state == "CANCELLED"


def test_cancel_refusals(emulator: str, v3: WeChatTransferV3, sink: HttpSink) -> None:
    with pytest.raises(GatewayRejected) as err:
        v3.cancel_bill(new_no())
    assert err.value.code == "NOT_FOUND"
    no = new_no()
    create(v3, sink, no)
    control(emulator, "confirm", out_bill_no=no, notify=False).raise_for_status()
    with pytest.raises(GatewayRejected) as err:
        v3.cancel_bill(no)
    assert err.value.code == "INVALID_REQUEST"
    assert sink.received == []


def test_failed_bill_notifies_its_reason(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    create(v3, sink, no)
    control(emulator, "fail", out_bill_no=no, reason="ACCOUNT_FROZEN").raise_for_status()
    notify = v3.parse_notify(sink.wait_for(1)[0].headers, sink.received[0].body)
    assert (notify.state, notify.fail_reason) == ("FAIL", "ACCOUNT_FROZEN")
    assert v3.query_bill(no).fail_reason == "ACCOUNT_FROZEN"
    assert paid(emulator, no) == 0


def test_duplicate_notify_reads_the_same(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    create(v3, sink, no)
    control(emulator, "confirm", out_bill_no=no).raise_for_status()
    control(emulator, "notify", out_bill_no=no).raise_for_status()
    first, second = sink.wait_for(2)
    assert v3.parse_notify(first.headers, first.body) == v3.parse_notify(
        second.headers, second.body
    )
    assert paid(emulator, no) == 1


# ------------------------------------------------------------------ definite failures


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"amount_fen": 9}, "PARAM_ERROR"),  # below 0.1 yuan
        ({"transfer_scene_id": "1001"}, "NO_AUTH"),  # a scene the merchant has not opened
        (  # the commission scene needs 报酬说明 too
            {"scene_report_infos": [{"info_type": "岗位类型", "info_content": "分销员"}]},
            "PARAM_ERROR",
        ),
    ],
)
def test_refusals_are_rejected(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink, kwargs: dict[str, Any], code: str
) -> None:
    no = new_no()
    with pytest.raises(GatewayRejected) as err:
        create(v3, sink, no, **kwargs)
    assert err.value.code == code
    assert v3.query_bill(no).state == "NOT_FOUND"


@pytest.mark.parametrize("code", ["NOT_ENOUGH", "FREQUENCY_LIMITED", "INVALID_REQUEST"])
def test_business_failure_fault_is_rejected(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink, code: str
) -> None:
    no = new_no()
    arm_fault(emulator, CREATE, "fail", code=code, message="emulated")
    with pytest.raises(GatewayRejected) as err:
        create(v3, sink, no)
    assert err.value.code == code and err.value.message == "emulated"
    assert create(v3, sink, no).state == "WAIT_USER_CONFIRM"  # nothing was made before


def test_large_amount_without_name_is_refused_unsent(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    with pytest.raises(GatewayRejected) as err:
        create(v3, sink, new_no(), amount_fen=200_000)
    assert err.value.code == "PARAM_ERROR"
    assert v3_stats(emulator)["create"] == 0


@pytest.mark.parametrize("kwargs", [{"amount_fen": 0}, {"amount_fen": 1.5}, {"notify_url": ""}])
def test_malformed_arguments_send_nothing(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        create(v3, sink, new_no(), **kwargs)
    assert v3_stats(emulator)["create"] == 0


# ------------------------------------------------------------------ unknown results


@pytest.mark.parametrize("mode", ["error500_after", "timeout"])
def test_lost_answer_then_query_and_confirm_pay_once(
    emulator: str, cfg: dict[str, Any], v3: WeChatTransferV3, sink: HttpSink, mode: str
) -> None:
    no = new_no()
    cfg["GATEWAY_TIMEOUT_SECONDS"] = 1
    arm_fault(emulator, CREATE, mode, seconds=2)
    with pytest.raises(GatewayUnavailable):
        create(WeChatTransferV3(cfg), sink, no)

    assert v3.query_bill(no).state == "WAIT_USER_CONFIRM"
    bill = create(v3, sink, no)  # the same number and parameters: the same bill
    assert bill.state == "WAIT_USER_CONFIRM" and bill.package_info
    control(emulator, "confirm", out_bill_no=no).raise_for_status()
    assert v3.query_bill(no).state == "SUCCESS"
    assert paid(emulator, no) == 1


def test_500_before_the_work_and_system_error_leave_nothing(
    emulator: str, v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    arm_fault(emulator, CREATE, "error500")
    with pytest.raises(GatewayUnavailable):
        create(v3, sink, no)
    arm_fault(emulator, CREATE, "fail", code="SYSTEM_ERROR")
    with pytest.raises(GatewayUnavailable) as err:
        create(v3, sink, no)
    assert err.value.code == "SYSTEM_ERROR"
    assert v3.query_bill(no).state == "NOT_FOUND"
    path = f"{CREATE}/out-bill-no/{no}"
    arm_fault(emulator, path, "error500")
    with pytest.raises(GatewayUnavailable):
        v3.query_bill(no)


def test_answer_signed_with_another_platform_key_is_unavailable(
    emulator: str, cfg: dict[str, Any], v3: WeChatTransferV3, sink: HttpSink
) -> None:
    no = new_no()
    fooled = WeChatTransferV3({**cfg, "WECHAT_PAY_V3_PUBLIC_KEY": rsa_pem(private=False)})
    with pytest.raises(GatewayUnavailable):
        create(fooled, sink, no)
    with pytest.raises(GatewayUnavailable):
        fooled.query_bill(no)
    assert v3.query_bill(no).state == "WAIT_USER_CONFIRM"  # it was made all the same


@pytest.mark.parametrize(
    ("status", "content_type", "body", "error"),
    [
        (200, "application/json", b'{"out_bill_no":"B1","state":"SUCCESS"}', GatewayUnavailable),
        (502, "text/html", b"<html>bad gateway</html>", GatewayUnavailable),
        (500, "application/json", b'{"code":"SYSTEM_ERROR","message":"busy"}', GatewayUnavailable),
        (404, "text/html", b"<html>not found</html>", GatewayUnavailable),
        (403, "application/json", b'{"code":"NOT_ENOUGH","message":"no money"}', GatewayRejected),
    ],
)
def test_fake_gateway_answers(
    cfg: dict[str, Any],
    sink: HttpSink,
    status: int,
    content_type: str,
    body: bytes,
    error: type[Exception],
) -> None:
    cfg["EMULATOR_URL"] = sink.url  # a "gateway" answering unsigned
    sink.reply_status, sink.reply_content_type, sink.reply_body = status, content_type, body
    with pytest.raises(error):
        WeChatTransferV3(cfg).query_bill("B1")


@pytest.mark.parametrize(
    "override",
    [
        {"WECHAT_PAY_V3_PRIVATE_KEY": "other"},
        {"WECHAT_PAY_V3_CERT_SERIAL": "0123456789ABCDEF0123456789ABCDEF01234567"},
    ],
)
def test_emulator_refuses_requests_it_cannot_verify(
    emulator: str, cfg: dict[str, Any], sink: HttpSink, override: dict[str, str]
) -> None:
    if override.get("WECHAT_PAY_V3_PRIVATE_KEY") == "other":
        override = {"WECHAT_PAY_V3_PRIVATE_KEY": rsa_pem()}
    with pytest.raises(GatewayRejected) as err:
        create(WeChatTransferV3({**cfg, **override}), sink, new_no())
    assert err.value.code == "SIGN_ERROR"
    assert v3_stats(emulator)["paid"] == {}


def test_emulator_checks_the_signed_request_line(emulator: str, cfg: dict[str, Any]) -> None:
    res = requests.post(
        f"{emulator}{CREATE}",
        json={"appid": cfg["WECHAT_APPID"]},
        headers={
            "Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="{}",nonce_str="n",'
            'signature="c2lnbmF0dXJl",timestamp="{}",serial_no="{}"'.format(
                cfg["WECHAT_MCH_ID"], int(time.time()), cfg["WECHAT_PAY_V3_CERT_SERIAL"]
            )
        },
        timeout=5,
    )
    assert res.status_code == 401 and res.json()["code"] == "SIGN_ERROR"


# ------------------------------------------------------------------ notify verification


def resource(cfg: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "out_bill_no": "B1234567",
        "transfer_bill_no": "1330000071100999991182020050700019480001",
        "state": "SUCCESS",
        "mch_id": cfg["WECHAT_MCH_ID"],
        "transfer_amount": 500,
        "openid": OPENID,
        "create_time": "2025-01-01T12:00:00+08:00",
        "update_time": "2025-01-01T12:01:00+08:00",
        **overrides,
    }


def notify(cfg: dict[str, Any], res: dict[str, Any] | None = None, **keys: Any) -> Any:
    args = {
        "apiv3_key": cfg["WECHAT_PAY_V3_APIV3_KEY"],
        "platform_private_key": cfg["EMULATOR_WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY"],
        "public_key_id": cfg["WECHAT_PAY_V3_PUBLIC_KEY_ID"],
        **keys,
    }
    return build_notify(resource(cfg) if res is None else res, **args)


def test_crafted_notify_parses_with_headers_in_any_case(
    cfg: dict[str, Any], v3: WeChatTransferV3
) -> None:
    headers, body = notify(cfg)
    bill = v3.parse_notify({k.lower(): v for k, v in headers.items()}, body)
    assert bill == Bill(
        "B1234567", "1330000071100999991182020050700019480001", "SUCCESS", amount_fen=500
    )
    assert v3.parse_notify(headers, body.decode()) == bill


def _signed(cfg: dict[str, Any], text: str) -> tuple[dict[str, str], bytes]:
    """`text` correctly signed with the platform key, whatever it holds."""
    key = load_private_key(cfg["EMULATOR_WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY"])
    return signed_headers(text, key, cfg["WECHAT_PAY_V3_PUBLIC_KEY_ID"]), text.encode()


def _tamper_ciphertext(body: bytes) -> bytes:
    data = json.loads(body)
    sealed = bytearray(base64.b64decode(data["resource"]["ciphertext"]))
    sealed[0] ^= 1
    data["resource"]["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _forgeries(cfg: dict[str, Any]) -> dict[str, tuple[dict[str, str], bytes]]:
    headers, body = notify(cfg)
    other_headers, other_body = notify(cfg, resource(cfg, transfer_amount=1))
    resigned = dict(headers)
    resigned["Wechatpay-Signature"] = other_headers["Wechatpay-Signature"]
    unsupported = dict(headers)
    unsupported["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"
    return {
        "other platform key": notify(cfg, platform_private_key=rsa_pem()),
        "other APIv3 key": notify(cfg, apiv3_key="someone-elses-apiv3-key-00000000"),
        # Re-signed with the platform key, so only the AES-GCM tag can catch it.
        "tampered ciphertext": _signed(cfg, _tamper_ciphertext(body).decode()),
        "tampered, not re-signed": (headers, _tamper_ciphertext(body)),
        "signature of another body": (resigned, body),
        "body changed after signing": (headers, other_body),
        "other serial": notify(cfg, public_key_id="PUB_KEY_ID_0000000000000000000000000000"),
        "hex serial": notify(cfg, public_key_id="5157F09EFDC096DE15EBE81A47057A7232F1B8E1"),
        "stale timestamp": notify(cfg, timestamp=int(time.time()) - 3600),
        "no signature": ({k: v for k, v in headers.items() if k != "Wechatpay-Signature"}, body),
        "unsupported signature type": (unsupported, body),
        "another merchant": notify(cfg, resource(cfg, mch_id="1234567890")),
        "unknown state": notify(cfg, resource(cfg, state="PAID")),
        "no transfer_bill_no": notify(cfg, resource(cfg, transfer_bill_no=None)),
        "amount as text": notify(cfg, resource(cfg, transfer_amount="5.00")),
    }


@pytest.mark.parametrize(
    "name",
    [
        "other platform key",
        "other APIv3 key",
        "tampered ciphertext",
        "tampered, not re-signed",
        "signature of another body",
        "body changed after signing",
        "other serial",
        "hex serial",
        "stale timestamp",
        "no signature",
        "unsupported signature type",
        "another merchant",
        "unknown state",
        "no transfer_bill_no",
        "amount as text",
    ],
)
def test_forged_or_bad_notify_is_refused(
    emulator: str, cfg: dict[str, Any], v3: WeChatTransferV3, name: str
) -> None:
    headers, body = _forgeries(cfg)[name]
    with pytest.raises(InvalidNotify):
        v3.parse_notify(headers, body)
    assert v3_stats(emulator)["query"] == 0  # refusing never calls the gateway


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"resource_type":"plain","resource":{}}',
        '{"resource_type":"encrypt-resource"}',
        '{"resource_type":"encrypt-resource","resource":{"algorithm":"AEAD_AES_256_GCM",'
        '"nonce":"abc","ciphertext":"!!!"}}',
    ],
)
def test_signed_but_malformed_notify_is_refused(
    cfg: dict[str, Any], v3: WeChatTransferV3, text: str
) -> None:
    with pytest.raises(InvalidNotify):
        v3.parse_notify(*_signed(cfg, text))


def test_signed_notify_whose_resource_is_not_a_bill_is_refused(
    cfg: dict[str, Any], v3: WeChatTransferV3
) -> None:
    sealed = encrypt_resource("[1, 2]", cfg["WECHAT_PAY_V3_APIV3_KEY"])
    text = json.dumps({"resource_type": "encrypt-resource", "resource": sealed})
    with pytest.raises(InvalidNotify):
        v3.parse_notify(*_signed(cfg, text))


# ------------------------------------------------------------------ settings

LIVE_WECHAT = {
    "GATEWAY": "live",
    "WECHAT_APPID": "wx1111111111111111",
    "WECHAT_APPSECRET": "s" * 32,
    "WECHAT_MCH_ID": "1230000109",
    "WECHAT_PAY_API_KEY": "k" * 32,
}


def live_v3() -> dict[str, str]:
    return {
        "WECHAT_PAY_V3_PRIVATE_KEY": rsa_pem().replace("\n", "\\n"),
        "WECHAT_PAY_V3_CERT_SERIAL": "0123456789abcdef0123456789abcdef01234567",
        "WECHAT_PAY_V3_APIV3_KEY": "a" * 32,
        "WECHAT_PAY_V3_PUBLIC_KEY": rsa_pem(private=False).replace("\n", "\\n"),
        "WECHAT_PAY_V3_PUBLIC_KEY_ID": "PUB_KEY_ID_0112300001092025010100000001",
    }


def test_v3_settings_defaults_and_live() -> None:
    dev = load_settings({})
    assert dev["WECHAT_PAY_V3_ENABLED"] is True
    assert "BEGIN PRIVATE KEY" in dev["WECHAT_PAY_V3_PRIVATE_KEY"]
    assert len(dev["WECHAT_PAY_V3_APIV3_KEY"]) == 32

    assert load_settings(LIVE_WECHAT)["WECHAT_PAY_V3_ENABLED"] is False
    with pytest.raises(RuntimeError):
        WeChatTransferV3({**load_settings(LIVE_WECHAT), "GATEWAY_TIMEOUT_SECONDS": 5})

    live = load_settings({**LIVE_WECHAT, **live_v3()})
    assert live["WECHAT_PAY_V3_ENABLED"] is True
    assert live["WECHAT_PAY_V3_CERT_SERIAL"] == "0123456789ABCDEF0123456789ABCDEF01234567"
    assert WeChatTransferV3(live).mch_id == "1230000109"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({**LIVE_WECHAT, "WECHAT_PAY_V3_APIV3_KEY": "a" * 32}, "half given"),
        ({**LIVE_WECHAT, **live_v3(), "WECHAT_PAY_V3_APIV3_KEY": "short"}, "32 bytes"),
        ({**LIVE_WECHAT, **live_v3(), "WECHAT_PAY_V3_CERT_SERIAL": "xyz"}, "hex serial"),
        ({**LIVE_WECHAT, **live_v3(), "WECHAT_PAY_V3_PUBLIC_KEY_ID": "123"}, "PUB_KEY_ID_"),
        ({"WECHAT_PAY_V3_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\\nAAAA"}, "readable PEM"),
        ({"WECHAT_PAY_V3_PUBLIC_KEY": "/no/such/key.pem"}, "PEM"),
        ({"WECHAT_PAY_V3_PUBLIC_KEY": rsa_pem(private=False)}, "private half"),
    ],
)
def test_bad_v3_settings_fail_at_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)
