"""Parcel tracking through the Kuaidi100 emulator over HTTP: subscription on shipping,
signed pushes as the parcel moves 揽收 → 在途 → 派件 → 签收, forged pushes refused, steps
stored once, the shopper's tracking endpoint, and WeChat told of receipt exactly once
(only when every package of the order is signed for)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.shop import login, make_product, pay_order
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.models import Order, Payment, Shipment, TrackingEvent
from wxdist.shop import tracking
from wxdist.shop.shipments import Package, ship, ship_whole_order


def _advance(emulator: EmulatorServer, number: str, steps: int = 1, **extra: Any) -> dict:
    answer = requests.post(
        f"{emulator.url}/_emulator/kuaidi100/advance",
        json={"number": number, "steps": steps, **extra},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _events(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(TrackingEvent))


def _confirms(emulator: EmulatorServer, app: Flask, order_id: int) -> int:
    with app.app_context():
        tx = db.session.scalar(select(Payment.transaction_id).where(Payment.order_id == order_id))
    stats = requests.get(f"{emulator.url}/_emulator/wechat/shipping", timeout=5).json()
    return stats["confirms"].get(tx, 0)


def _signed_push(app: Flask, number: str, state: str, salt: str | None = None) -> dict:
    result = {
        "state": state,
        "ischeck": "1" if state == "3" else "0",
        "com": "shunfeng",
        "nu": number,
        "data": [{"time": "2026-12-03 10:00:00", "context": "已签收", "status": "签收"}],
    }
    param = json.dumps({"status": "shutdown", "lastResult": result}, ensure_ascii=False)
    key = app.config["KUAIDI100_SALT"] if salt is None else salt
    return {"param": param, "sign": hashlib.md5((param + key).encode()).hexdigest().upper()}


def test_a_parcel_moves_is_tracked_and_receipt_is_told_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    buyer = login(client, "track-buyer")
    order = pay_order(client, emulator.url, buyer, make_product(app)["sku_id"])
    with app.app_context():
        ship_whole_order(order["id"], "SF", "SF7001")
    run_jobs()
    stats = requests.get(f"{emulator.url}/_emulator/kuaidi100/stats", timeout=5).json()
    assert stats["subscribed"] == 1

    assert _advance(emulator, "SF7001")["callbacks"] == [200]
    seen = client.get(f"/api/v1/orders/{order['id']}/tracking", headers=buyer).get_json()
    (package,) = seen["shipments"]
    assert (package["delivery_id"], package["carrier_name"]) == ("SF", "顺丰速运")
    assert [e["state"] for e in package["events"]] == ["collected"]
    assert "揽收" in package["events"][0]["text"] and package["delivered_at"] is None
    assert _confirms(emulator, app, order["id"]) == 0

    assert _advance(emulator, "SF7001", steps=3)["callbacks"] == [200, 200, 200]
    seen = client.get(f"/api/v1/orders/{order['id']}/tracking", headers=buyer).get_json()
    states = [e["state"] for e in seen["shipments"][0]["events"]]
    assert set(states) == {"collected", "in_transit", "delivering", "signed"}
    assert seen["shipments"][0]["delivered_at"] is not None
    assert _confirms(emulator, app, order["id"]) == 1

    # The same push again (Kuaidi100 repeats them) adds nothing and tells WeChat nothing.
    stored = _events(app)
    replay = _signed_push(app, "SF7001", "3")
    for _ in range(2):
        answer = requests.post(f"{app.config['LIVE_URL']}/notify/tracking/kuaidi100", data=replay)
        assert answer.status_code == 200 and answer.json()["result"] is True
    assert _events(app) == stored + 1  # the replay's own step, once
    assert _confirms(emulator, app, order["id"]) == 1

    other = login(client, "track-stranger")
    assert client.get(f"/api/v1/orders/{order['id']}/tracking", headers=other).status_code == 404


def test_forged_pushes_are_refused_and_change_nothing(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    buyer = login(client, "forge-buyer")
    order = pay_order(client, emulator.url, buyer, make_product(app)["sku_id"])
    with app.app_context():
        ship_whole_order(order["id"], "SF", "SF7002")
    run_jobs()
    url = f"{app.config['LIVE_URL']}/notify/tracking/kuaidi100"
    good = _signed_push(app, "SF7002", "3")
    cases = {
        "wrong salt": _signed_push(app, "SF7002", "3", salt="guess"),
        "tampered param": {**good, "param": good["param"].replace("SF7002", "SF7003")},
        "no sign": {"param": good["param"]},
        "empty": {},
        "not json": {"param": "x", "sign": hashlib.md5(b"x").hexdigest()},
    }
    for name, form in cases.items():
        answer = requests.post(url, data=form, timeout=10)
        assert answer.status_code == 400, name
        assert answer.json()["result"] is False, name
    assert _advance(emulator, "SF7002", sign="0" * 32)["callbacks"] == [400]
    assert _events(app) == 0
    with app.app_context():
        assert db.session.scalar(select(Shipment.delivered_at)) is None
    assert _confirms(emulator, app, order["id"]) == 0
    assert (
        requests.post(f"{app.config['LIVE_URL']}/notify/tracking/evil", data=good).status_code
        == 404
    )


def test_split_delivery_is_received_when_the_last_package_is_signed(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    buyer = login(client, "split-track")
    order = pay_order(client, emulator.url, buyer, make_product(app)["sku_id"], quantity=2)
    with app.app_context():
        item_id = db.session.get(Order, order["id"]).items[0].id
        ship(order["id"], Package("express", "ZTO", "ZT8001", {item_id: 1}))
        ship(order["id"], Package("express", "ZTO", "ZT8002", {item_id: 1}))
    run_jobs()
    _advance(emulator, "ZT8001", steps=4)
    assert _confirms(emulator, app, order["id"]) == 0  # one package still travelling
    _advance(emulator, "ZT8002", steps=4)
    assert _confirms(emulator, app, order["id"]) == 1


def test_query_is_signed_and_a_refusal_is_a_clear_error(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    buyer = login(client, "query-track")
    order = pay_order(client, emulator.url, buyer, make_product(app)["sku_id"])
    with app.app_context():
        shipment_id = ship_whole_order(order["id"], "YTO", "YT9001").id
        assert tracking.refresh(shipment_id) == 1  # the emulator checked MD5(param+key+customer)
        assert tracking.refresh(shipment_id) == 0
        client_ = tracking.gateways().kuaidi100
        key, client_.key = client_.key, "wrong-key"
        try:
            with pytest.raises(ApiError) as refused:
                tracking.refresh(shipment_id)
        finally:
            client_.key = key
        assert refused.value.code == "tracking_unavailable" and refused.value.status == 502
