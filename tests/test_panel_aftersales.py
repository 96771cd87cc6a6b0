"""The panel's after-sales: the queue with its filter and deadlines, and each staff move
through its real form (CSRF), audited; a move from the wrong state is refused with 409."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.aftersale_helpers import apply, bought, manual_refunds, settle_refunds
from tests.panel_helpers import post_form, staff_client
from tests.shop import sku_stock
from wxdist.core.extensions import db
from wxdist.models import AfterSale, AuditEntry
from wxdist.reporting.reconcile import check_all


def _status(app: Flask, sale_id: int) -> str:
    with app.app_context():
        return db.session.get(AfterSale, sale_id).status


def test_queue_filters_by_status_and_shows_the_deadline(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    b = bought(client, app, emulator)
    sale = apply(client, b).get_json()
    staff = staff_client(app, "operator")
    page = staff.get("/panel/aftersales?status=applied").get_data(as_text=True)
    assert f"/panel/aftersales/{sale['id']}" in page and "left" in page
    assert f"/panel/aftersales/{sale['id']}" not in staff.get(
        "/panel/aftersales?status=refunded"
    ).get_data(as_text=True)
    finance = staff_client(app, "finance")
    assert finance.get("/panel/aftersales").status_code == 403


def test_refuse_needs_a_reason_and_then_refuses_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    b = bought(client, app, emulator)
    sale_id = apply(client, b).get_json()["id"]
    staff = staff_client(app, "operator")
    page, base = f"/panel/aftersales/{sale_id}", f"/panel/aftersales/{sale_id}"
    empty = post_form(staff, page, f"{base}/refuse", **{"refuse-reason": " "})
    assert empty.status_code == 400 and "Enter the reason" in empty.get_data(as_text=True)
    done = post_form(staff, page, f"{base}/refuse", **{"refuse-reason": "已超过质保"})
    assert done.status_code == 303 and _status(app, sale_id) == "refused"
    late = post_form(staff, page, f"{base}/agree")
    assert late.status_code == 409 and _status(app, sale_id) == "refused"
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.target_type == "aftersale")
        ).all()
        assert actions == ["aftersale.refuse"]


def test_a_return_is_agreed_received_sellable_and_refunded_from_the_panel(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    manual_refunds(emulator)
    b = bought(client, app, emulator, stage="shipped")
    stock = sku_stock(app, b["sku_id"])
    sale_id = apply(client, b, kind="return_refund", amount_fen=2500).get_json()["id"]
    staff = staff_client(app, "operator")
    page, base = f"/panel/aftersales/{sale_id}", f"/panel/aftersales/{sale_id}"
    assert post_form(staff, page, f"{base}/agree").status_code == 303
    early = post_form(staff, page, f"{base}/receive", sellable="yes")
    assert early.status_code == 409 and _status(app, sale_id) == "agreed"
    shipped = client.post(
        f"/api/v1/aftersales/{sale_id}/ship-back",
        json={"carrier": "韵达", "tracking_no": "YD10001"},
        headers=b["headers"],
    )
    assert shipped.status_code == 200
    assert post_form(staff, page, f"{base}/receive", sellable="yes").status_code == 303
    assert sku_stock(app, b["sku_id"]) == stock + 1
    assert post_form(staff, page, f"{base}/refund").status_code == 303
    assert _status(app, sale_id) == "refunding"
    again = post_form(staff, page, f"{base}/refund")
    assert again.status_code == 409  # its refund is in flight, not failed
    settle_refunds(app, emulator)
    assert _status(app, sale_id) == "refunded"
    assert "YD10001" in staff.get(page).get_data(as_text=True)
    with app.app_context():
        assert check_all() == []
        actions = db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == "aftersale")
            .order_by(AuditEntry.id)
        ).all()
        assert actions == ["aftersale.agree", "aftersale.receive", "aftersale.refund"]


def test_refusing_the_receipt_ends_it_without_stock_or_money(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    b = bought(client, app, emulator, stage="shipped")
    stock = sku_stock(app, b["sku_id"])
    sale_id = apply(client, b, kind="return_refund").get_json()["id"]
    staff = staff_client(app, "operator")
    page, base = f"/panel/aftersales/{sale_id}", f"/panel/aftersales/{sale_id}"
    post_form(staff, page, f"{base}/agree")
    client.post(
        f"/api/v1/aftersales/{sale_id}/ship-back",
        json={"carrier": "韵达", "tracking_no": "YD10002"},
        headers=b["headers"],
    )
    done = post_form(staff, page, f"{base}/refuse-receipt", **{"receipt-reason": "包裹为空"})
    assert done.status_code == 303 and _status(app, sale_id) == "receipt_refused"
    assert sku_stock(app, b["sku_id"]) == stock
    assert post_form(staff, page, f"{base}/refund").status_code == 409


def test_a_failed_refund_stays_refunding_and_can_be_sent_again(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    import requests

    manual_refunds(emulator)
    b = bought(client, app, emulator)
    sale_id = apply(client, b, amount_fen=1200).get_json()["id"]
    staff = staff_client(app, "operator")
    page, base = f"/panel/aftersales/{sale_id}", f"/panel/aftersales/{sale_id}"
    post_form(staff, page, f"{base}/agree")
    requests.post(
        f"{emulator.url}/_emulator/faults",
        json={"key": "/secapi/pay/refund", "mode": "fail", "code": "NOTENOUGH"},
        timeout=5,
    )
    post_form(staff, page, f"{base}/refund")
    assert _status(app, sale_id) == "refunding"
    assert "NOTENOUGH" in staff.get(page).get_data(as_text=True)
    assert post_form(staff, page, f"{base}/refund").status_code == 303  # sent again
    settle_refunds(app, emulator)
    assert _status(app, sale_id) == "refunded"
    with app.app_context():
        assert check_all() == []
