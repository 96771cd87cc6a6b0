"""Stock alerts: a checkout taking a SKU to its threshold gives one `stock.low` once the
sweep has run, and no second one until stock has gone back above the threshold and down
again; stock 0 gives `stock.out`, and with auto-pause the product goes off shelf and back
on when stock returns (never one staff took off themselves); two checks at once alert once;
the staff message goes only to the staff member who opted in and whose account accepted
the template."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from payments.emulator import EmulatorServer
from tests.notify_helpers import accept, log_rows, openid_of, remaining, sent, template, user_of
from tests.panel_helpers import post_form, staff_client
from tests.shop import login, make_product, place_order, storm
from wxdist.accounts.staff import create_staff
from wxdist.catalog import admin, stock_alerts, stock_settings
from wxdist.catalog.products import set_on_shelf
from wxdist.core.extensions import db
from wxdist.integrations import endpoints
from wxdist.models import MessageStatus, Product, Sku, StaffUser, WebhookEvent
from wxdist.models.staff import StaffRole


def _events(app: Flask, event_type: str = "stock.") -> list[dict[str, Any]]:
    """The stock events in the outbox (or those of `event_type`), oldest first."""
    with app.app_context():
        query = select(WebhookEvent.type, WebhookEvent.body).order_by(WebhookEvent.id)
        rows = db.session.execute(query).all()
        db.session.remove()
    return [
        {"type": kind, **json.loads(body)["data"]}
        for kind, body in rows
        if kind.startswith(event_type)
    ]


def _sweep(app: Flask) -> int:
    with app.app_context():
        return stock_alerts.sweep()


def _endpoint(app: Flask) -> None:
    with app.app_context():
        endpoints.create("https://erp.example.com/hooks", ["*"])


def _sku(app: Flask, sku_id: int) -> tuple[int, str]:
    with app.app_context():
        sku = db.session.get(Sku, sku_id)
        return sku.stock, sku.stock_alert


def _shelf(app: Flask, product_id: int) -> tuple[bool, bool]:
    with app.app_context():
        product = db.session.get(Product, product_id)
        return product.on_shelf, product.paused_for_stock


def _restock(app: Flask, ids: dict[str, Any], wanted: int) -> None:
    """What the panel's stock edit does (it checks the SKU's alert in its transaction)."""
    with app.app_context():
        seen = db.session.get(Sku, ids["sku_id"]).stock
        admin.adjust_stock(ids["product_id"], ids["sku_id"], seen=seen, wanted=wanted)


def _auto_pause(app: Flask, on: bool) -> None:
    with app.app_context():
        stock_settings.save(low_stock_threshold=10, auto_pause=on)
        db.session.commit()


def test_crossing_the_threshold_sends_stock_low_once_per_crossing(
    client: FlaskClient, app: Flask
) -> None:
    _endpoint(app)
    ids = make_product(app, stock=12, title="保温杯")
    with app.app_context():
        db.session.execute(update(Sku).where(Sku.id == ids["sku_id"]).values(code="CUP-01"))
        db.session.commit()
    buyer = login(client, "buyer-low")
    place_order(client, buyer, ids["sku_id"], quantity=1)  # 11: still above 10
    assert _sweep(app) == 0
    place_order(client, buyer, ids["sku_id"], quantity=1)  # 10: at the threshold
    assert _events(app) == []  # nothing on the checkout's path
    assert _sweep(app) == 1
    assert _sku(app, ids["sku_id"]) == (10, "low")
    (low,) = _events(app)
    assert low == {
        "type": "stock.low",
        "sku_id": ids["sku_id"],
        "sku_code": "CUP-01",
        "sku_name": "规格1",
        "product_id": ids["product_id"],
        "product_title": "保温杯",
        "product_on_shelf": True,
        "stock": 10,
        "threshold": 10,
        "state": "low",
    }
    place_order(client, buyer, ids["sku_id"], quantity=1)  # 9: still low, no new crossing
    assert _sweep(app) == 0
    assert len(_events(app)) == 1

    _restock(app, ids, 30)  # back above: ok at once, silently
    assert _sku(app, ids["sku_id"]) == (30, "ok")
    assert len(_events(app)) == 1
    place_order(client, buyer, ids["sku_id"], quantity=25)  # 5: a second crossing
    assert _sweep(app) == 1
    assert [e["stock"] for e in _events(app, "stock.low")] == [10, 5]


def test_a_sku_threshold_of_its_own_beats_the_default(client: FlaskClient, app: Flask) -> None:
    _endpoint(app)
    ids = make_product(app, stock=8)
    _sweep(app)
    assert [e["threshold"] for e in _events(app, "stock.low")] == [10]
    with app.app_context():  # its own number: 3 (the panel's SKU form)
        admin.update_sku(
            ids["product_id"], ids["sku_id"], name="规格1", price_fen=1990, is_active=True,
            low_stock_threshold=3,
        )  # fmt: skip
    assert _sku(app, ids["sku_id"]) == (8, "ok")
    place_order(client, login(client, "buyer-own"), ids["sku_id"], quantity=5)
    _sweep(app)
    assert [e["threshold"] for e in _events(app, "stock.low")] == [10, 3]


def test_sold_out_sends_stock_out_and_auto_pause_takes_the_product_off_until_restock(
    client: FlaskClient, app: Flask
) -> None:
    _endpoint(app)
    ids = make_product(app, stock=1)
    buyer = login(client, "buyer-out")
    order = place_order(client, buyer, ids["sku_id"], quantity=1)
    _sweep(app)
    assert [e["type"] for e in _events(app)] == ["stock.out"]
    assert _shelf(app, ids["product_id"]) == (True, False)  # auto-pause is off by default
    summary = client.get(f"/api/v1/products/{ids['product_id']}").get_json()
    assert summary["in_stock"] is False and summary["skus"][0]["stock"] == 0  # sold out

    _auto_pause(app, True)
    _sweep(app)
    assert _shelf(app, ids["product_id"]) == (False, True)
    assert client.get(f"/api/v1/products/{ids['product_id']}").status_code == 404
    assert len(_events(app)) == 1  # pausing is not a second alert

    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=buyer)
    assert cancelled.status_code == 200, cancelled.get_json()
    _sweep(app)
    assert _shelf(app, ids["product_id"]) == (True, False)
    assert _sku(app, ids["sku_id"]) == (1, "low")
    assert [e["type"] for e in _events(app)] == ["stock.out"]  # out -> low warns nobody


def test_auto_pause_waits_for_every_active_sku_and_its_event_says_so(
    client: FlaskClient, app: Flask
) -> None:
    _endpoint(app)
    _auto_pause(app, True)
    ids = make_product(app, stock=1, skus=2)
    buyer = login(client, "buyer-two")
    place_order(client, buyer, ids["sku_ids"][0], quantity=1)
    _sweep(app)
    assert _shelf(app, ids["product_id"]) == (True, False)  # the other SKU still sells
    place_order(client, buyer, ids["sku_ids"][1], quantity=1)
    _sweep(app)
    assert _shelf(app, ids["product_id"]) == (False, True)
    outs = _events(app, "stock.out")
    assert [e["product_on_shelf"] for e in outs] == [True, False]


def test_a_product_staff_took_off_shelf_is_never_put_back(client: FlaskClient, app: Flask) -> None:
    _auto_pause(app, True)
    paused = make_product(app, stock=1, title="自动下架")
    kept_off = make_product(app, stock=1, title="手动下架")
    buyer = login(client, "buyer-off")
    orders = [place_order(client, buyer, p["sku_id"]) for p in (paused, kept_off)]
    with app.app_context():  # staff take one off shelf before it is paused
        set_on_shelf(kept_off["product_id"], False)
    _sweep(app)
    assert _shelf(app, paused["product_id"]) == (False, True)
    assert _shelf(app, kept_off["product_id"]) == (False, False)
    with app.app_context():  # and keep the paused one off too ("keep off shelf")
        assert set_on_shelf(paused["product_id"], False)
    for order in orders:
        client.post(f"/api/v1/orders/{order['id']}/cancel", headers=buyer)
    _sweep(app)
    assert _shelf(app, paused["product_id"]) == (False, False)
    assert _shelf(app, kept_off["product_id"]) == (False, False)


def test_two_checks_at_once_alert_once(app: Flask) -> None:
    """Each round two sessions check the same SKU at the same instant (a barrier): the
    compare-and-set on the old state lets one move it (SQLite or MariaDB)."""
    _endpoint(app)
    rounds = 6
    skus = [make_product(app, stock=4)["sku_id"] for _ in range(rounds)]

    def check(sku_id: int) -> int:
        with app.app_context():
            try:
                changes = stock_alerts.check([sku_id])
                db.session.commit()
                return len(changes)
            finally:
                db.session.remove()

    for sku_id in skus:
        assert sorted(storm(2, lambda _i, sku_id=sku_id: check(sku_id))) == [0, 1]
    assert sorted(e["sku_id"] for e in _events(app, "stock.low")) == skus


def _opt_in(app: Flask, username: str, user_id: int, on: bool = True) -> None:
    with app.app_context():
        staff = create_staff(username, "a long enough password", StaffRole.OPERATOR)
        staff.alert_user_id, staff.stock_alerts = user_id, on
        db.session.commit()


def test_the_staff_message_goes_to_who_opted_in_with_a_consent(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    people = {}
    for code in ("keeper", "quiet", "unsubscribed"):
        headers = login(client, f"staff-{code}")
        people[code] = user_of(client, headers)
        if code != "unsubscribed":
            accept(client, app, headers, "stock_alert")
    # The keeper opts in on their account page (a real form, audited).
    keeper = staff_client(app, "operator", "keeper")
    answer = post_form(
        keeper, "/panel/account", "/panel/account",
        alert_user_id=str(people["keeper"]), stock_alerts="y",
    )  # fmt: skip
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    _opt_in(app, "quiet", people["quiet"], on=False)  # consent, but alerts off
    _opt_in(app, "unsubscribed", people["unsubscribed"])  # alerts on, no consent

    ids = make_product(app, stock=1, title="限量马克杯")
    place_order(client, login(client, "buyer-msg"), ids["sku_id"])
    _sweep(app)
    run_jobs()
    messages = sent(emulator.url)
    assert [m["touser"] for m in messages] == [openid_of(app, people["keeper"])]
    (message,) = messages
    assert message["template_id"] == template(app, "stock_alert")
    assert message["data"]["thing1"]["value"] == "限量马克杯"
    assert message["data"]["number3"]["value"] == "0"
    assert remaining(app, people["keeper"], "stock_alert") == 0  # the consent is spent
    assert remaining(app, people["quiet"], "stock_alert") == 1
    assert [r.status for r in log_rows(app, people["unsubscribed"])] == [MessageStatus.NO_CONSENT]
    assert log_rows(app, people["quiet"]) == []
    with app.app_context():
        keeper_row = db.session.scalar(select(StaffUser).where(StaffUser.username == "keeper"))
        assert (keeper_row.alert_user_id, keeper_row.stock_alerts) == (people["keeper"], True)
