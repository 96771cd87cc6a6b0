"""After-sales through the mini-program API: each move and each refusal (wrong state 409
with its code, someone else's 404, window passed 409, too much quantity or amount 400
naming the field), evidence pictures, the refund settled by the emulator's notify."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.aftersale_helpers import apply, bought, manual_refunds, settle_refunds
from tests.shop import login, sku_stock
from wxdist.core.extensions import db
from wxdist.models import AfterSale, AfterSaleLog, Order, ShipmentKind
from wxdist.reporting.reconcile import check_all
from wxdist.shop.aftersales import service
from wxdist.shop.aftersales.sweep import sweep
from wxdist.shop.shipments import Package, ship

STAFF = service.Actor(service.STAFF, 1)


def _code(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_json()["error"]["code"]


def test_refund_only_before_shipping_refunds_restocks_and_logs_every_move(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    manual_refunds(emulator)
    b = bought(client, app, emulator)
    stock = sku_stock(app, b["sku_id"])
    response = apply(client, b, amount_fen=2500)
    assert response.status_code == 201, response.get_json()
    sale = response.get_json()
    assert sale["status"] == "applied" and sale["deadline_at"]
    assert [row["to_status"] for row in sale["log"]] == ["applied"]
    with app.app_context():
        service.agree(sale["id"], STAFF)
        service.start_refund(sale["id"], STAFF)
    got = client.get(f"/api/v1/aftersales/{sale['id']}", headers=b["headers"]).get_json()
    assert got["status"] == "refunding"
    assert settle_refunds(app, emulator) == 1
    got = client.get(f"/api/v1/aftersales/{sale['id']}", headers=b["headers"]).get_json()
    assert got["status"] == "refunded" and got["refunded_fen"] == 2500
    assert [(r["from_status"], r["to_status"]) for r in got["log"]] == [
        (None, "applied"),
        ("applied", "agreed"),
        ("agreed", "refunding"),
        ("refunding", "refunded"),
    ]
    assert sku_stock(app, b["sku_id"]) == stock + 1  # refunded before shipping
    order = client.get(f"/api/v1/orders/{b['order']['id']}", headers=b["headers"]).get_json()
    assert order["refunded_fen"] == 2500 and order["items"][0]["refunded_fen"] == 2500
    listed = client.get("/api/v1/aftersales?status=refunded", headers=b["headers"]).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == sale["id"]
    with app.app_context():
        assert check_all() == []


def test_return_refund_ships_back_and_restocks_only_when_sellable(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    manual_refunds(emulator)
    b = bought(client, app, emulator, stage="shipped")
    stock = sku_stock(app, b["sku_id"])
    sale = apply(client, b, kind="return_refund", quantity=2, amount_fen=5000).get_json()
    url = f"/api/v1/aftersales/{sale['id']}/ship-back"
    early = client.post(
        url, json={"carrier": "中通", "tracking_no": "ZT123456"}, headers=b["headers"]
    )
    assert early.status_code == 409 and _code(early) == "invalid_status"
    with app.app_context():
        agreed = service.agree(sale["id"], STAFF)
        assert agreed.deadline_at is not None
    shipped = client.post(
        url, json={"carrier": "中通", "tracking_no": "ZT123456"}, headers=b["headers"]
    )
    assert shipped.status_code == 200 and shipped.get_json()["status"] == "buyer_shipped"
    cancel = client.post(f"/api/v1/aftersales/{sale['id']}/cancel", json={}, headers=b["headers"])
    assert cancel.status_code == 409 and _code(cancel) == "invalid_status"
    with app.app_context():
        service.receive(sale["id"], STAFF, sellable=True)
        assert db.session.get(AfterSale, sale["id"]).restocked_qty == 2
        service.start_refund(sale["id"], STAFF)
    assert sku_stock(app, b["sku_id"]) == stock + 2
    settle_refunds(app, emulator)
    got = client.get(f"/api/v1/aftersales/{sale['id']}", headers=b["headers"]).get_json()
    assert got["status"] == "refunded"
    assert sku_stock(app, b["sku_id"]) == stock + 2  # not twice
    with app.app_context():
        assert check_all() == []


def test_refusals_name_the_state_the_owner_the_window_and_the_field(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    b = bought(client, app, emulator, quantity=2, price_fen=2500)
    not_shipped = apply(client, b, kind="return_refund")
    assert not_shipped.status_code == 409 and _code(not_shipped) == "not_shipped"
    too_many = apply(client, b, quantity=3)
    assert too_many.status_code == 400 and "quantity" in too_many.get_json()["error"]["fields"]
    too_much = apply(client, b, quantity=1, amount_fen=2501)  # one of two: its share 2500
    assert too_much.status_code == 400 and "amount_fen" in too_much.get_json()["error"]["fields"]
    bad_reason = apply(client, b, reason_code="nope")
    assert (
        bad_reason.status_code == 400 and "reason_code" in bad_reason.get_json()["error"]["fields"]
    )
    foreign = apply(client, b, evidence=["https://evil.example/x.jpg"])
    assert foreign.status_code == 400 and "evidence.0" in foreign.get_json()["error"]["fields"]
    ok = apply(client, b)
    assert ok.status_code == 201
    twice = apply(client, b)
    assert twice.status_code == 409 and _code(twice) == "aftersale_open"
    other = login(client, "someone-else")
    sale_id = ok.get_json()["id"]
    assert client.get(f"/api/v1/aftersales/{sale_id}", headers=other).status_code == 404
    assert (
        client.post(f"/api/v1/aftersales/{sale_id}/cancel", json={}, headers=other).status_code
        == 404
    )
    assert apply(client, {**b, "headers": other}).status_code == 404
    seen = client.post(
        f"/api/v1/aftersales/{sale_id}/cancel", json={"status": "agreed"}, headers=b["headers"]
    )
    assert seen.status_code == 409 and _code(seen) == "invalid_status"
    done = client.post(f"/api/v1/aftersales/{sale_id}/cancel", headers=b["headers"])
    assert done.status_code == 200 and done.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/aftersales/{sale_id}/cancel", headers=b["headers"])
    assert again.status_code == 409 and _code(again) == "invalid_status"
    assert apply(client, b).status_code == 201  # the line is free again


def test_the_window_closes_days_after_completion(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    b = bought(client, app, emulator, stage="completed")
    with app.app_context():
        days = app.config["AFTERSALE_WINDOW_DAYS"]
        order = db.session.get(Order, b["order"]["id"])
        order.completed_at -= timedelta(days=days, seconds=1)
        db.session.commit()
    late = apply(client, b)
    assert late.status_code == 409 and _code(late) == "aftersale_window_closed"


def test_sweep_agrees_unanswered_and_closes_returns_not_shipped_back(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    b = bought(client, app, emulator, stage="shipped")
    sale = apply(client, b, kind="return_refund").get_json()
    with app.app_context():
        created = db.session.get(AfterSale, sale["id"]).created_at
        agree_at = created + timedelta(days=app.config["AFTERSALE_AGREE_DAYS"])
        assert sweep(agree_at - timedelta(seconds=1)) == 0
        assert sweep(agree_at) == 1
        sale_row = db.session.get(AfterSale, sale["id"])
        assert sale_row.status == "agreed"
        close_at = sale_row.deadline_at
        assert sweep(close_at) == 1
        db.session.expire_all()
        closed = db.session.get(AfterSale, sale["id"])
        assert closed.status == "closed" and closed.open_item_id is None
        actors = db.session.scalars(
            select(AfterSaleLog.actor).where(AfterSaleLog.aftersale_id == sale["id"])
        ).all()
        assert actors == ["buyer", "system", "system"]


def test_evidence_is_uploaded_through_the_picture_path_and_accepted(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    b = bought(client, app, emulator)
    data = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(data, "PNG")
    url = f"/api/v1/aftersales/pictures?order_item_id={b['item_id']}"
    upload = client.post(
        url,
        data={"picture": (io.BytesIO(data.getvalue()), "a.png")},
        headers=b["headers"],
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_json()
    picture = upload.get_json()["url"]
    assert picture.startswith("/media/pictures/")
    bad = client.post(
        url,
        data={"picture": (io.BytesIO(b"not a picture"), "a.png")},
        headers=b["headers"],
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and _code(bad) == "unsupported_picture"
    other = login(client, "not-the-buyer")
    foreign = client.post(
        url,
        data={"picture": (io.BytesIO(data.getvalue()), "a.png")},
        headers=other,
        content_type="multipart/form-data",
    )
    assert foreign.status_code == 404 and "order_item_id" in foreign.get_json()["error"]["fields"]
    sale = apply(client, b, evidence=[picture])
    assert sale.status_code == 201 and sale.get_json()["evidence"] == [picture]
    reasons = client.get("/api/v1/aftersales/reasons").get_json()["items"]
    assert {"code": "damaged", "label": "Arrived damaged"} in reasons


def test_a_split_delivery_returns_only_what_shipped_and_restocks_only_what_did_not(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """One of two units left in a package; the order waits (paid) for the other."""
    manual_refunds(emulator)
    b = bought(client, app, emulator, quantity=2)
    with app.app_context():
        ship(b["order"]["id"], Package(ShipmentKind.EXPRESS, "SF", "SF900", {b["item_id"]: 1}))
    stock = sku_stock(app, b["sku_id"])
    both = apply(client, b, kind="return_refund", quantity=2, amount_fen=5000)
    assert both.status_code == 409 and _code(both) == "not_shipped"
    assert "quantity" in both.get_json()["error"]["fields"]
    sale = apply(client, b, kind="refund_only", quantity=2, amount_fen=5000).get_json()
    with app.app_context():
        service.agree(sale["id"], STAFF)
        service.start_refund(sale["id"], STAFF)
    assert settle_refunds(app, emulator) == 1
    assert sku_stock(app, b["sku_id"]) == stock + 1  # the unit still in the warehouse
    with app.app_context():
        assert check_all() == []
