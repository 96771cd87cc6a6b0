"""Shipments and WeChat's shipping information upload, against the emulator over HTTP:
10060001 retried, a 5xx retried (and one whose upload did land reconciled, not re-sent),
the one re-upload WeChat allows and the refusal after it, split delivery with
`is_all_delivered` only on the last package, SF's masked phone, and the time format."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from payments.emulator import EmulatorServer
from payments.errors import GatewayRejected
from tests.shop import ADDRESS, login, make_product, pay_order
from wxdist.core.errors import ApiError, Conflict
from wxdist.core.events import order_shipped
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.models import Order, Payment, ShippingSync
from wxdist.models.types import utcnow
from wxdist.shop import shipping_info, shipping_payload
from wxdist.shop.shipments import Package, edit_shipment, ship, ship_whole_order

UPLOAD = "/wxa/sec/order/upload_shipping_info"


def _paid(client: FlaskClient, app: Flask, emulator: EmulatorServer, quantity: int = 1):
    buyer = login(client, f"ship-{quantity}-{datetime.now().timestamp()}")
    product = make_product(app, price_fen=1000, stock=10, title="保温杯")
    return pay_order(client, emulator.url, buyer, product["sku_id"], quantity)


def _payment(app: Flask, order_id: int) -> Payment:
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
        db.session.expunge(payment)
        return payment


def _sync(app: Flask, order_id: int) -> ShippingSync:
    with app.app_context():
        row = db.session.scalar(select(ShippingSync).where(ShippingSync.order_id == order_id))
        assert row is not None
        db.session.expunge(row)
        return row


def _shipping(emulator: EmulatorServer, transaction_id: str) -> dict[str, Any]:
    answer = requests.get(f"{emulator.url}/_emulator/wechat/shipping/{transaction_id}", timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _arm(emulator: EmulatorServer, mode: str, times: int, code: str = "SYSTEMERROR") -> None:
    body = {"key": UPLOAD, "mode": mode, "times": times, "code": code, "message": "emulated"}
    requests.post(f"{emulator.url}/_emulator/faults", json=body, timeout=5).raise_for_status()


def _time_passes_and_sweep(app: Flask, order_id: int, run_jobs: Any) -> None:
    """The backoff elapses (the row's next attempt moved to the past), the sweep runs."""
    with app.app_context():
        db.session.execute(
            update(ShippingSync)
            .where(ShippingSync.order_id == order_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        shipping_info.sweep()
    run_jobs()


def test_payment_not_found_twice_then_uploaded(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    order = _paid(client, app, emulator)
    _arm(emulator, "fail", 2, code="10060001")
    with app.app_context():
        ship_whole_order(order["id"], "ZTO", "ZT100")
    run_jobs()
    first = _sync(app, order["id"])
    assert (first.state, first.attempts, first.uploads) == ("failed", 1, 0)
    assert first.last_error.startswith("10060001") and first.next_attempt_at > utcnow()

    _time_passes_and_sweep(app, order["id"], run_jobs)
    second = _sync(app, order["id"])
    assert (second.state, second.attempts) == ("failed", 2)
    assert second.next_attempt_at - utcnow() > timedelta(seconds=40)  # the backoff doubled

    _time_passes_and_sweep(app, order["id"], run_jobs)
    done = _sync(app, order["id"])
    assert (done.state, done.uploads, done.last_error, done.next_attempt_at) == (
        "uploaded",
        1,
        None,
        None,
    )
    held = _shipping(emulator, _payment(app, order["id"]).transaction_id)
    assert (held["uploads"], held["duplicates"], held["complete"]) == (1, 0, True)
    with app.app_context():
        shipping_info.sweep()  # nothing due: nothing sent again
    assert _shipping(emulator, _payment(app, order["id"]).transaction_id)["uploads"] == 1


def test_a_5xx_is_retried_and_a_lost_answer_is_reconciled_not_resent(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    order = _paid(client, app, emulator)
    _arm(emulator, "error500", 1)
    with app.app_context():
        ship_whole_order(order["id"], "YTO", "YT1")
    run_jobs()
    failed = _sync(app, order["id"])
    assert failed.state == "failed" and failed.last_error.startswith("unavailable")
    _time_passes_and_sweep(app, order["id"], run_jobs)
    assert _sync(app, order["id"]).state == "uploaded"
    transaction_id = _payment(app, order["id"]).transaction_id
    assert _shipping(emulator, transaction_id)["uploads"] == 1

    # WeChat records the upload but the answer is lost: get_order shows it, nothing resent.
    other = _paid(client, app, emulator)
    _arm(emulator, "error500_after", 1)
    with app.app_context():
        ship_whole_order(other["id"], "YTO", "YT2")
    run_jobs()
    assert _sync(app, other["id"]).state == "failed"
    _time_passes_and_sweep(app, other["id"], run_jobs)
    reconciled = _sync(app, other["id"])
    assert (reconciled.state, reconciled.uploads) == ("uploaded", 0)
    held = _shipping(emulator, _payment(app, other["id"]).transaction_id)
    assert (held["uploads"], held["duplicates"]) == (1, 0)


def test_one_reupload_is_allowed_the_next_change_is_refused_and_not_sent(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    order = _paid(client, app, emulator)
    with app.app_context():
        shipment = ship_whole_order(order["id"], "STO", "ST1")
        shipment_id = shipment.id
    run_jobs()
    transaction_id = _payment(app, order["id"]).transaction_id
    with app.app_context():
        edit_shipment(shipment_id, "STO", "ST1-fixed")
    run_jobs()
    held = _shipping(emulator, transaction_id)
    assert (held["uploads"], held["reuploads"]) == (2, 1)
    assert held["last"]["shipping_list"][0]["tracking_no"] == "ST1-fixed"
    assert _sync(app, order["id"]).reuploads == 1

    with app.app_context(), pytest.raises(Conflict) as refused:
        edit_shipment(shipment_id, "STO", "ST1-again")
    assert refused.value.code == "shipping_reupload_limit"
    assert _shipping(emulator, transaction_id)["uploads"] == 2  # nothing sent
    with app.app_context():  # and WeChat itself would refuse a third
        payload = shipping_payload.build_payload(
            db.session.get(Payment, _payment(app, order["id"]).id), utcnow()
        )
        with pytest.raises(GatewayRejected) as limit:
            gateways().miniprogram.post_json(shipping_info.UPLOAD_PATH, payload)
    assert limit.value.code == "10060003"


def test_split_delivery_marks_all_delivered_only_on_the_last_package(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    order = _paid(client, app, emulator, quantity=3)
    seen: list[tuple[int, bool]] = []

    def record(_sender: Any, **kw: Any) -> None:
        seen.append((kw["order_id"], kw["all_delivered"]))

    order_shipped.connect(record)
    try:
        with app.app_context():
            item_id = db.session.get(Order, order["id"]).items[0].id
            ship(order["id"], Package("express", "ZTO", "ZT-A", {item_id: 1}))
            assert db.session.get(Order, order["id"]).status == "paid"
            with pytest.raises(ApiError) as too_many:
                ship(order["id"], Package("express", "ZTO", "ZT-X", {item_id: 3}))
            assert f"items.{item_id}" in too_many.value.fields
        run_jobs()
        transaction_id = _payment(app, order["id"]).transaction_id
        first = _shipping(emulator, transaction_id)["last"]
        assert (first["delivery_mode"], first["is_all_delivered"]) == (2, False)
        assert len(first["shipping_list"]) == 1
        with app.app_context():
            ship(order["id"], Package("express", "JD", "JD-B", {item_id: 2}))
            assert db.session.get(Order, order["id"]).status == "shipped"
        run_jobs()
    finally:
        order_shipped.disconnect(record)
    held = _shipping(emulator, transaction_id)
    last = held["last"]
    assert (last["delivery_mode"], last["is_all_delivered"]) == (2, True)
    assert [p["tracking_no"] for p in last["shipping_list"]] == ["ZT-A", "JD-B"]
    assert last["shipping_list"][1]["item_desc"].endswith("×2")
    assert (held["uploads"], held["reuploads"], held["complete"]) == (2, 0, True)
    assert seen == [(order["id"], False), (order["id"], True)]
    assert _sync(app, order["id"]).state == "uploaded"


def test_sf_gets_the_masked_phone_and_others_none(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    sf, zto = _paid(client, app, emulator), _paid(client, app, emulator)
    with app.app_context():
        ship_whole_order(sf["id"], "SF", "SF1")
        ship_whole_order(zto["id"], "ZTO", "ZT1")
    run_jobs()
    sf_sent = _shipping(emulator, _payment(app, sf["id"]).transaction_id)["last"]
    phone = ADDRESS["phone"]
    masked = phone[:3] + "****" + phone[-4:]
    assert sf_sent["shipping_list"][0]["contact"] == {"receiver_contact": masked}
    assert sf_sent["delivery_mode"] == 1 and "is_all_delivered" not in sf_sent
    zto_sent = _shipping(emulator, _payment(app, zto["id"]).transaction_id)["last"]
    assert "contact" not in zto_sent["shipping_list"][0]
    assert shipping_payload.mask_phone("18912341234") == "189****1234"


def test_time_format_payer_and_order_key(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    assert shipping_payload.wechat_time(datetime(2026, 12, 3, 6, 5)) == (
        "2026-12-03T14:05:00.000+08:00"
    )
    order = _paid(client, app, emulator)
    with app.app_context():
        ship_whole_order(order["id"], "EMS", "EM1")
    run_jobs()
    payment = _payment(app, order["id"])
    sent = _shipping(emulator, payment.transaction_id)["last"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00", sent["upload_time"])
    sent_at = datetime.fromisoformat(sent["upload_time"])
    assert abs((sent_at.replace(tzinfo=None) - timedelta(hours=8)) - utcnow()) < timedelta(
        minutes=1
    )
    assert sent["order_key"] == {"order_number_type": 2, "transaction_id": payment.transaction_id}
    assert sent["payer"] == {"openid": payment.payer_id} and sent["logistics_type"] == 1
    assert sent["shipping_list"][0]["item_desc"].startswith("保温杯")


def test_item_desc_is_cut_and_bad_carriers_or_payloads_are_refused(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    desc = shipping_payload.item_desc([("长" * 200, 1)])
    assert len(desc) == 120 and desc.endswith("…")
    order = _paid(client, app, emulator)
    with app.app_context():
        with pytest.raises(ApiError) as unknown:
            ship_whole_order(order["id"], "ACME", "X1")
        assert unknown.value.status == 400 and "delivery_id" in unknown.value.fields
        with pytest.raises(ApiError) as blank:
            ship(order["id"], Package("express", None, " "))
        assert {"delivery_id", "tracking_no"} <= set(blank.value.fields)
        payment = db.session.get(Payment, _payment(app, order["id"]).id)
        assert db.session.get(Order, order["id"]).status == "paid"
        ship(order["id"], Package("virtual"))  # virtual goods: no carrier needed
        payload = shipping_payload.build_payload(payment, utcnow())
        assert payload["logistics_type"] == 3 and "tracking_no" not in payload["shipping_list"][0]
        bad = {**payload, "upload_time": "2026-12-03 14:05:00"}
        with pytest.raises(GatewayRejected) as wrong_time:
            gateways().miniprogram.post_json(shipping_info.UPLOAD_PATH, bad)
        assert wrong_time.value.code == "40097"
