"""The panel's commission records (filters, CSV) and distributor rankings."""

from __future__ import annotations

import csv
import io
from datetime import UTC

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.panel_helpers import staff_client
from tests.test_withdrawals import fund
from wxdist.core.clock import SHANGHAI
from wxdist.core.extensions import db
from wxdist.models import Commission


def test_commission_pages_answer_finance_and_owner_not_operator(app: Flask) -> None:
    finance = staff_client(app, "finance")
    owner = staff_client(app, "owner")
    operator = staff_client(app, "operator")
    for url in ("/panel/commissions", "/panel/commissions.csv", "/panel/rankings"):
        assert finance.get(url).status_code == 200, url
        assert owner.get(url).status_code == 200, url
        assert operator.get(url).status_code == 403, url


def test_the_records_are_filtered_exported_and_ranked(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    rich = fund(client, app, emulator, run_jobs, "pc-rich", 3000)
    poor = fund(client, app, emulator, run_jobs, "pc-poor", 1200)
    with app.app_context():
        rows = db.session.scalars(db.select(Commission).order_by(Commission.id)).all()
        assert [c.beneficiary_id for c in rows] == [rich["user_id"], poor["user_id"]]
        order_id = rows[0].order_id
        created = rows[0].created_at
    finance = staff_client(app, "finance")

    page = finance.get("/panel/commissions").get_data(as_text=True)
    assert "¥30.00" in page and "¥12.00" in page and "10.00%" in page and "s-settled" in page
    assert 'href="/panel/rankings"' in page

    mine = finance.get(f"/panel/commissions?beneficiary={rich['user_id']}").get_data(as_text=True)
    assert "¥30.00" in mine and "¥12.00" not in mine
    by_order = finance.get(f"/panel/commissions?order={order_id}").get_data(as_text=True)
    assert "¥30.00" in by_order and "¥12.00" not in by_order
    frozen = finance.get("/panel/commissions?status=frozen").get_data(as_text=True)
    assert "No commission records match." in frozen
    today = created.replace(tzinfo=UTC).astimezone(SHANGHAI).date()
    same_day = finance.get(f"/panel/commissions?since={today}&until={today}")
    assert "¥12.00" in same_day.get_data(as_text=True)
    later = finance.get(f"/panel/commissions?since={today.replace(year=today.year + 1)}")
    assert "No commission records match." in later.get_data(as_text=True)
    # malformed filters are ignored, never a 500
    odd = finance.get("/panel/commissions?status=x&beneficiary=abc&since=2026-13-45&page=0")
    assert odd.status_code == 200

    exported = finance.get(f"/panel/commissions.csv?beneficiary={poor['user_id']}")
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][:3] == ["ID", "Created", "Order number"] and len(table) == 2
    assert table[1][5] == str(poor["user_id"]) and table[1][10] == "12.00"
    assert table[1][9] == "10.00%" and table[1][13] == "settled"

    ranks = finance.get("/panel/rankings").get_data(as_text=True)
    earned = ranks.split("Commission earned")[1].split("Direct invites")[0]
    assert earned.index(f"#{rich['user_id']}") < earned.index(f"#{poor['user_id']}")
    assert "¥30.00" in earned and "¥12.00" in earned
    assert "Team sales" in ranks and "Direct invites" in ranks
