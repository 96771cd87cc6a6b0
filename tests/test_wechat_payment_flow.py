"""A purchase paid with WeChat Pay v2: wechatpy against the emulator, notifies over HTTP."""

from __future__ import annotations

import time
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from config import DEV_WECHAT_PAY_API_KEY
from payments.emulator import EmulatorServer
from payments.emulator.wechat import sign_notify
from tests.shop import emulator_pay, get_order, login, make_product, place_order, start_pay
from wxdist.core.extensions import db
from wxdist.models import Order, Payment, Refund
from wxdist.shop.refunds import request_refund


def _paid_order(client: FlaskClient, app: Flask, emulator: EmulatorServer, price_fen: int = 2500):
    product = make_product(app, price_fen=price_fen, stock=5)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"], quantity=2)
    pay = start_pay(client, headers, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    return headers, order, pay


def _notify_fields(
    app: Flask, out_trade_no: str, total_fee: int, **overrides: Any
) -> dict[str, Any]:
    fields = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "appid": app.config["WECHAT_APPID"],
        "mch_id": app.config["WECHAT_MCH_ID"],
        "nonce_str": "n0nce",
        "openid": "oSomeone",
        "out_trade_no": out_trade_no,
        "transaction_id": "4200000000202611260000000042",
        "total_fee": str(total_fee),
        "cash_fee": str(total_fee),
        "fee_type": "CNY",
        "bank_type": "OTHERS",
        "trade_type": "JSAPI",
        "time_end": "20261126120000",
    }
    fields.update(overrides)
    return fields


def _post_notify(app: Flask, body: bytes) -> requests.Response:
    return requests.post(f"{app.config['LIVE_URL']}/notify/wechat/pay", data=body, timeout=10)


def _state(app: Flask, order_id: int) -> tuple[str, int, int]:
    with app.app_context():
        order = db.session.get(Order, order_id)
        payments = db.session.query(Payment).filter_by(order_id=order_id, status="paid").count()
        return order.status, order.paid_fen, payments


def test_pay_answers_signed_request_payment_params(client: FlaskClient, app: Flask) -> None:
    from wechatpy.pay.utils import calculate_signature

    product = make_product(app, price_fen=999)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    pay = start_pay(client, headers, order["id"])
    params = pay["wechat"]
    assert params["package"].startswith("prepay_id=wx") and params["signType"] == "MD5"
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert params["paySign"] == calculate_signature(unsigned, DEV_WECHAT_PAY_API_KEY)
    again = start_pay(client, headers, order["id"])  # the same prepay is reused
    assert again["wechat"]["package"] == params["package"]


def test_paying_through_the_emulator_marks_the_order_paid(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers, order, _ = _paid_order(client, app, emulator)
    run_jobs()
    paid = get_order(client, headers, order["id"])
    assert paid["status"] == "paid" and paid["paid_fen"] == 5000 and paid["pay_channel"] == "wechat"
    assert paid["paid_at"] is not None


def test_duplicate_notifies_record_one_payment_and_all_get_success(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    _, order, pay = _paid_order(client, app, emulator)
    for _ in range(3):
        again = requests.post(
            f"{emulator.url}/_emulator/wechat/notify",
            json={"out_trade_no": pay["out_trade_no"]},
            timeout=10,
        ).json()
        assert again["notify_status"] == 200 and "SUCCESS" in again["notify_response"]
    assert _state(app, order["id"]) == ("paid", 5000, 1)


def test_forged_or_foreign_notifies_change_nothing(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=2500)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    pay = start_pay(client, headers, order["id"])
    out_trade_no = pay["out_trade_no"]
    key = DEV_WECHAT_PAY_API_KEY

    good = _notify_fields(app, out_trade_no, 2500)
    forged_sign = sign_notify(good, key).replace(b"<sign>", b"<sign>0", 1)
    cases = {
        "forged signature": sign_notify(good, "x" * 32),
        "tampered signature": forged_sign,
        "changed amount": sign_notify(_notify_fields(app, out_trade_no, 1), key),
        "other mch_id": sign_notify(
            _notify_fields(app, out_trade_no, 2500, mch_id="1999999999"), key
        ),
        "other appid": sign_notify(
            _notify_fields(app, out_trade_no, 2500, appid="wx0000000000000000"), key
        ),
        "unknown order": sign_notify(_notify_fields(app, "20990101000000000000W", 2500), key),
        "malformed xml": b"<xml><return_code>SUCCESS</return_code",
        "not xml": b"hello",
        "empty": b"",
        "entity bomb": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        b"<xml><a>&a;</a></xml>",
        # An element given twice is refused, whichever copy is the signed one.
        "repeated amount after": sign_notify(good, key).replace(
            b"</xml>", b"<total_fee>1</total_fee></xml>"
        ),
        "repeated amount before": sign_notify(good, key).replace(
            b"<xml>", b"<xml><total_fee>1</total_fee>", 1
        ),
        "repeated out_trade_no": sign_notify(good, key).replace(
            b"</xml>", b"<out_trade_no>20990101000000000000W</out_trade_no></xml>"
        ),
    }
    for name, body in cases.items():
        response = _post_notify(app, body)
        assert response.status_code >= 400, name
        assert "<return_code><![CDATA[FAIL]]></return_code>" in response.text, name
    assert _state(app, order["id"]) == ("pending_payment", 0, 0)

    accepted = _post_notify(app, sign_notify(good, key))  # the genuine one still works
    assert accepted.status_code == 200 and "SUCCESS" in accepted.text
    assert _state(app, order["id"]) == ("paid", 2500, 1)


def test_whole_and_partial_refunds_settle_once_through_the_refund_notify(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    requests.post(
        f"{emulator.url}/_emulator/wechat/config", json={"auto_refund_notify": False}, timeout=5
    )
    try:
        headers, order, _ = _paid_order(client, app, emulator)
        with app.app_context():
            part = request_refund(order["id"], 1200, "少发一件")
            assert part.status == "processing"
            out_refund_no = part.out_refund_no
        assert get_order(client, headers, order["id"])["status"] == "refunding"

        for _ in range(2):  # settle, then a duplicate notify
            settled = requests.post(
                f"{emulator.url}/_emulator/wechat/settle-refund",
                json={"out_refund_no": out_refund_no},
                timeout=10,
            ).json()
            assert "SUCCESS" in settled["notify_response"]
        after_part = get_order(client, headers, order["id"])
        assert after_part["status"] == "paid" and after_part["refunded_fen"] == 1200
        assert sum(i["refunded_fen"] for i in after_part["items"]) == 1200

        with app.app_context():
            rest = request_refund(order["id"], 3800, "整单退")
            rest_no = rest.out_refund_no
        requests.post(
            f"{emulator.url}/_emulator/wechat/settle-refund",
            json={"out_refund_no": rest_no},
            timeout=10,
        )
        final = get_order(client, headers, order["id"])
        assert final["status"] == "refunded" and final["refunded_fen"] == 5000
        with app.app_context():
            assert {r.status for r in db.session.query(Refund).all()} == {"succeeded"}
    finally:
        requests.post(
            f"{emulator.url}/_emulator/wechat/config", json={"auto_refund_notify": True}, timeout=5
        )


def test_refund_beyond_the_paid_amount_is_refused(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    from wxdist.core.errors import ApiError

    _, order, _ = _paid_order(client, app, emulator)
    with app.app_context():
        try:
            request_refund(order["id"], 5001)
        except ApiError as exc:
            assert "amount_fen" in exc.fields
        else:
            raise AssertionError("over-refund accepted")


def test_refund_settles_by_itself_with_auto_notify(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    headers, order, _ = _paid_order(client, app, emulator)
    with app.app_context():
        request_refund(order["id"], 5000, "不想要了")
    deadline = time.time() + 10
    while time.time() < deadline:
        if get_order(client, headers, order["id"])["status"] == "refunded":
            break
        time.sleep(0.05)
    assert get_order(client, headers, order["id"])["status"] == "refunded"


def test_a_payment_numbered_unlike_its_order_is_still_applied_once(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, price_fen=1200, stock=5)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    start_pay(client, headers, order["id"])
    with app.app_context():  # e.g. a number made under an older scheme
        payment = db.session.query(Payment).filter_by(order_id=order["id"]).one()
        payment.out_trade_no = "LEGACY" + order["order_no"][:20]
        db.session.commit()
        out_trade_no = payment.out_trade_no
    body = sign_notify(_notify_fields(app, out_trade_no, 1200), DEV_WECHAT_PAY_API_KEY)
    for _ in range(2):
        response = _post_notify(app, body)
        assert response.status_code == 200 and "SUCCESS" in response.text
    assert _state(app, order["id"]) == ("paid", 1200, 1)
    unknown = sign_notify(_notify_fields(app, "X" + out_trade_no, 1200), DEV_WECHAT_PAY_API_KEY)
    assert _post_notify(app, unknown).status_code == 404
