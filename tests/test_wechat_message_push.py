"""WeChat's message push at /notify/wechat/message: the emulator signs and encrypts pushes
(safe mode, wechatpy's crypto) and posts them over HTTP; forged or tampered ones are
refused before anything is read, genuine ones are acted on and answered "success"."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.shop import login, make_product, pay_order
from tests.test_shipping_upload import _arm as arm_upload_fault
from tests.test_shipping_upload import _sync as upload_sync
from wxdist.core.extensions import db
from wxdist.models import Order, Payment, WechatPushEvent
from wxdist.shop.shipments import ship_whole_order


def _push(emulator: EmulatorServer, app: Flask, message: dict[str, Any], **options: Any) -> dict:
    response = requests.post(
        f"{emulator.url}/_emulator/wechat/message-push",
        json={
            "url": f"{app.config['LIVE_URL']}/notify/wechat/message",
            "message": message,
            **options,
        },
        timeout=20,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _shipped_order(client: FlaskClient, app: Flask, emulator: EmulatorServer) -> dict[str, Any]:
    product = make_product(app, price_fen=1990, stock=3)
    headers = login(client, "push-buyer")
    order = pay_order(client, emulator.url, headers, product["sku_id"])
    with app.app_context():
        ship_whole_order(order["id"], "SF", "SF1234567890")
        payment = db.session.query(Payment).filter_by(order_id=order["id"]).one()
        return {
            "id": order["id"],
            "transaction_id": payment.transaction_id,
            "out_trade_no": payment.out_trade_no,
        }


def _settlement(order: dict[str, Any], app: Flask) -> dict[str, Any]:
    return {
        "Event": "trade_manage_order_settlement",
        "transaction_id": order["transaction_id"],
        "merchant_id": app.config["WECHAT_MCH_ID"],
        "merchant_trade_no": order["out_trade_no"],
        "pay_time": int(time.time()) - 86400,
        "confirm_receive_method": 1,
        "settlement_time": int(time.time()),
    }


def _status(app: Flask, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).status


def _events(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.event, e.outcome) for e in db.session.query(WechatPushEvent).all()]


@pytest.mark.parametrize("tamper", ["signature", "ciphertext", "garbage"])
def test_a_forged_or_tampered_push_is_refused_and_changes_nothing(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, tamper: str
) -> None:
    order = _shipped_order(client, app, emulator)
    answer = _push(emulator, app, _settlement(order, app), tamper=tamper)
    assert answer["status"] in (400, 403) and answer["body"] != "success"
    if tamper != "garbage":
        assert answer["status"] == 403  # a signature that does not hold
    assert _status(app, order["id"]) == "shipped"
    assert _events(app) == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_genuine_settlement_push_completes_the_shipped_order(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, fmt: str
) -> None:
    order = _shipped_order(client, app, emulator)
    answer = _push(emulator, app, _settlement(order, app), format=fmt)
    assert (answer["status"], answer["body"]) == (200, "success")
    assert _status(app, order["id"]) == "completed"
    again = _push(emulator, app, _settlement(order, app), format=fmt)  # WeChat repeats
    assert (again["status"], again["body"]) == (200, "success")
    assert _status(app, order["id"]) == "completed"
    assert _events(app) == [
        ("trade_manage_order_settlement", "completed"),
        ("trade_manage_order_settlement", "not_shipped"),
    ]


def test_settlement_of_an_order_not_shipped_or_unknown_changes_nothing(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    product = make_product(app, price_fen=990, stock=3)
    headers = login(client, "push-paid")
    paid = pay_order(client, emulator.url, headers, product["sku_id"])
    message = {"Event": "trade_manage_order_settlement", "merchant_trade_no": paid["out_trade_no"]}
    assert _push(emulator, app, message)["body"] == "success"
    assert _status(app, paid["id"]) == "paid"
    unknown = {"Event": "trade_manage_order_settlement", "transaction_id": "4200000000000"}
    assert _push(emulator, app, unknown)["body"] == "success"
    foreign = {**message, "merchant_id": "1999999999"}
    assert _push(emulator, app, foreign)["body"] == "success"
    assert _status(app, paid["id"]) == "paid"
    assert [outcome for _, outcome in _events(app)] == [
        "not_shipped",
        "unknown_payment",
        "foreign_merchant",
    ]


def test_a_shipping_reminder_and_other_events_are_recorded_and_answered(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    product = make_product(app, price_fen=990, stock=3)
    headers = login(client, "push-remind")
    paid = pay_order(client, emulator.url, headers, product["sku_id"])
    remind = {
        "Event": "trade_manage_remind_shipping",
        "merchant_trade_no": paid["out_trade_no"],
        "msg": "您有一笔订单超过48小时未发货",
    }
    assert _push(emulator, app, remind, format="xml")["body"] == "success"
    other = {"Event": "wxa_media_check", "trace_id": "t1"}
    assert _push(emulator, app, other)["body"] == "success"
    with app.app_context():
        rows = db.session.query(WechatPushEvent).order_by(WechatPushEvent.id).all()
        assert [(r.event, r.outcome, r.order_id) for r in rows] == [
            ("trade_manage_remind_shipping", "reminded", paid["id"]),
            ("wxa_media_check", "logged", None),
        ]
        assert rows[0].payload["msg"] == "您有一笔订单超过48小时未发货"
    assert _status(app, paid["id"]) == "paid"


def test_a_reminder_for_a_shipment_whose_upload_failed_uploads_it_now(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    """WeChat's 48-hour reminder does not wait out the upload's backoff."""
    product = make_product(app, price_fen=990, stock=3)
    headers = login(client, "push-remind-upload")
    paid = pay_order(client, emulator.url, headers, product["sku_id"])
    arm_upload_fault(emulator, "fail", 1, code="10060001")
    with app.app_context():
        ship_whole_order(paid["id"], "ZTO", "ZT200")
    run_jobs()
    assert upload_sync(app, paid["id"]).state == "failed"  # waiting out its backoff
    remind = {"Event": "trade_manage_remind_shipping", "merchant_trade_no": paid["out_trade_no"]}
    assert _push(emulator, app, remind)["body"] == "success"
    run_jobs()
    assert upload_sync(app, paid["id"]).state == "uploaded"
    with app.app_context():
        (row,) = db.session.query(WechatPushEvent).all()
        assert (row.outcome, row.order_id) == ("upload_due", paid["id"])


def _signed(app: Flask, **extra: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "n0nce"
    parts = sorted([app.config["WECHAT_MESSAGE_TOKEN"], timestamp, nonce])
    signature = hashlib.sha1("".join(parts).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}


def test_the_console_url_check_echoes_only_a_signed_request(
    client: FlaskClient, app: Flask
) -> None:
    good = client.get("/notify/wechat/message", query_string=_signed(app, echostr="e123"))
    assert (good.status_code, good.get_data(as_text=True)) == (200, "e123")
    forged = {**_signed(app, echostr="e123"), "signature": "0" * 40}
    assert client.get("/notify/wechat/message", query_string=forged).status_code == 403
    assert client.get("/notify/wechat/message", query_string={"echostr": "x"}).status_code == 403
    old = str(int(time.time()) - 7200)  # a replayed check, signed two hours ago
    parts = sorted([app.config["WECHAT_MESSAGE_TOKEN"], old, "n0nce"])
    replayed = {
        "signature": hashlib.sha1("".join(parts).encode()).hexdigest(),
        "timestamp": old,
        "nonce": "n0nce",
        "echostr": "e123",
    }
    assert client.get("/notify/wechat/message", query_string=replayed).status_code == 403


def test_plain_mode_and_malformed_bodies_are_refused(client: FlaskClient, app: Flask) -> None:
    plain = client.post(
        "/notify/wechat/message",
        query_string=_signed(app),
        json={"Event": "trade_manage_order_settlement", "transaction_id": "1"},
    )
    assert plain.status_code == 403  # safe mode only
    aes = _signed(app, encrypt_type="aes", msg_signature="0" * 40)
    for body in (
        b"",
        b"not json",
        b"<xml><Encrypt></Encrypt></xml>",
        b'{"Encrypt": 5}',
        b"\xff\xfe",
        b'{"Encrypt": "AAAA"}',
    ):
        response = client.post("/notify/wechat/message", query_string=aes, data=body)
        assert response.status_code in (400, 403), body
    assert _events(app) == []
