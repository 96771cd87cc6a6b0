"""Buyer cancel against merchant agree on one after-sale, over real HTTP (threaded server,
one connection per request: the mini-program API for the shopper, the panel's form for
staff), fifty times: exactly one wins each time, the log holds exactly one move out of
`applied`, and the money agrees (the agreed ones are refunded, commission clawed back, the
books reconcile). Runs on SQLite and, in CI, on MariaDB."""

from __future__ import annotations

from collections import Counter

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.aftersale_helpers import manual_refunds, settle_refunds
from tests.panel_helpers import PASSWORD, csrf_from, make_staff
from tests.shop import become_distributor, login, make_product, pay_order, set_settings, storm
from wxdist.core.extensions import db
from wxdist.models import AfterSale, AfterSaleLog, Commission, Order, Refund, RefundStatus
from wxdist.reporting.reconcile import check_all

ROUNDS = 50


def _panel_session(app: Flask) -> requests.Session:
    base = app.config["LIVE_URL"]
    http = requests.Session()
    name = make_staff(app, "operator", "race-operator")
    token = csrf_from(http.get(f"{base}/panel/login", timeout=30).text)
    signed = http.post(
        f"{base}/panel/login",
        data={"username": name, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert signed.status_code == 302, signed.text[:300]
    return http


def test_buyer_cancel_against_merchant_agree_one_wins_fifty_times(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    manual_refunds(emulator)
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    distributor = become_distributor(client, "race-dist")
    buyer = login(client, "race-buyer", scene=distributor["centre"]["scene"])
    product = make_product(app, price_fen=100, stock=ROUNDS)
    order = pay_order(client, emulator.url, buyer, product["sku_id"], ROUNDS)
    run_jobs()  # attribution: the line carries frozen commission
    item_id = order["items"][0]["id"]
    base = app.config["LIVE_URL"]
    staff = _panel_session(app)
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        applied = client.post(
            "/api/v1/aftersales",
            json={
                "order_item_id": item_id,
                "kind": "refund_only",
                "quantity": 1,
                "amount_fen": 100,
                "reason_code": "other",
            },
            headers=buyer,
        )
        assert applied.status_code == 201, applied.get_json()
        sale_id = applied.get_json()["id"]
        page = f"{base}/panel/aftersales/{sale_id}"
        token = csrf_from(staff.get(page, timeout=30).text)

        def move(
            i: int, sale_id: int = sale_id, token: str = token, page: str = page
        ) -> tuple[str, int]:
            if i == 0:
                with requests.Session() as http:
                    answer = http.post(
                        f"{base}/api/v1/aftersales/{sale_id}/cancel",
                        json={"status": "applied"},
                        headers=buyer,
                        timeout=60,
                    )
                return "cancel", answer.status_code
            answer = staff.post(
                f"{page}/agree", data={"csrf_token": token}, allow_redirects=False, timeout=60
            )
            return "agree", answer.status_code

        results = dict(storm(2, move))
        won = [who for who, status in results.items() if status in (200, 303)]
        assert len(won) == 1, results
        assert 409 in results.values(), results
        outcomes[won[0]] += 1
        with app.app_context():
            moves = db.session.scalars(
                select(AfterSaleLog.to_status).where(
                    AfterSaleLog.aftersale_id == sale_id, AfterSaleLog.from_status == "applied"
                )
            ).all()
            assert moves == [{"cancel": "cancelled", "agree": "agreed"}[won[0]]]
        if won[0] == "agree":  # the agreed one is refunded; the line is free again after
            refund = staff.post(
                f"{page}/refund", data={"csrf_token": token}, allow_redirects=False, timeout=60
            )
            assert refund.status_code == 303, refund.text[:300]
            assert settle_refunds(app, emulator) == 1
    assert sum(outcomes.values()) == ROUNDS, outcomes
    with app.app_context():
        agreed = outcomes["agree"]
        sales = db.session.scalars(select(AfterSale)).all()
        assert (
            Counter(s.status for s in sales)
            == Counter({"refunded": agreed, "cancelled": ROUNDS - agreed}) - Counter()
        )
        refunds = db.session.scalars(select(Refund)).all()
        assert len(refunds) == agreed and {r.status for r in refunds} <= {RefundStatus.SUCCEEDED}
        row = db.session.get(Order, order["id"])
        assert row.refunded_fen == 100 * agreed == sum(s.refunded_fen for s in sales)
        net = db.session.scalar(select(func.sum(Commission.amount_fen - Commission.clawed_fen)))
        assert net == (100 * ROUNDS - 100 * agreed) // 10
        assert check_all() == []
