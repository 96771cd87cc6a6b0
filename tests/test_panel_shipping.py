"""Shipping from the panel's order page: a split delivery through the real form (which items
and how many), the upload state shown, and a failed upload retried with the audited button."""

from __future__ import annotations

import re
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.panel_helpers import post_form, staff_client
from tests.shop import login, make_product, pay_order
from tests.test_panel_orders import audits, order_row
from wxdist.accounts.audit import decode


def test_split_delivery_from_the_form_then_a_failed_upload_retried(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    buyer = login(client, "panel-split")
    order = pay_order(client, emulator.url, buyer, make_product(app)["sku_id"], quantity=3)
    page = f"/panel/orders/{order['id']}"
    operator = staff_client(app, "operator")
    form = operator.get(page).get_data(as_text=True).split('id="ship"')[1].split("</form>")[0]
    (qty_name,) = re.findall(r'name="(qty_\d+)"', form)
    assert 'value="3"' in form  # everything left, by default

    over = post_form(
        operator,
        page,
        f"{page}/ship",
        kind="express",
        delivery_id="ZTO",
        tracking_no="Z1",
        **{qty_name: "4"},
    )
    assert over.status_code == 400 and order_row(app, order["id"]).status == "paid"

    first = post_form(
        operator,
        page,
        f"{page}/ship",
        kind="express",
        delivery_id="ZTO",
        tracking_no="Z1",
        **{qty_name: "1"},
    )
    assert first.status_code == 303
    run_jobs()
    assert order_row(app, order["id"]).status == "paid"
    shown = operator.get(page).get_data(as_text=True)
    assert "Z1" in shown and "uploaded" in shown and 'value="2"' in shown

    requests.post(
        f"{emulator.url}/_emulator/faults",
        json={
            "key": "/wxa/sec/order/upload_shipping_info",
            "mode": "fail",
            "times": 1,
            "code": "10060001",
            "message": "not yet",
        },
        timeout=5,
    ).raise_for_status()
    rest = post_form(
        operator, page, f"{page}/ship", kind="express", delivery_id="ZTO", tracking_no="Z2"
    )
    assert rest.status_code == 303
    run_jobs()
    assert order_row(app, order["id"]).status == "shipped"
    shown = operator.get(page).get_data(as_text=True)
    assert "10060001" in shown and "/retry" in shown
    retry_url = re.search(r'action="([^"]+/retry)"', shown).group(1)

    retried = post_form(operator, page, retry_url)
    assert retried.status_code == 303
    run_jobs()
    shown = operator.get(page).get_data(as_text=True)
    assert "10060001" not in shown and "/retry" not in shown
    (entry,) = audits(app, "order.shipping_retry", order["id"])
    assert [state for state, _ in decode(entry.before_json)["payments"].values()] == ["failed"]
    ships = audits(app, "order.ship", order["id"])
    assert [decode(e.after_json)["status"] for e in ships] == ["paid", "shipped"]
    again = post_form(operator, page, retry_url)  # nothing failed now: refused, not a 500
    assert again.status_code == 409
