"""The report aggregates against a direct count of the orders and commission after a
scripted history, the distributor centre's report endpoints, and the funnel per code."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.reports_helpers import day, direct_counts, history
from tests.shop import login
from wxdist.core.extensions import db
from wxdist.models import ReportChannelDaily, ReportDaily, ReportProductDaily, ShareCode
from wxdist.reporting import insight
from wxdist.reporting.reconcile import check_all

COLUMNS = (
    "orders",
    "paid_fen",
    "refunds",
    "refunded_fen",
    "commission_fen",
    "commission_clawed_fen",
    "new_members",
)


def stored() -> dict[str, dict[tuple[Any, ...], Counter[str]]]:
    """The distributors' aggregate rows (merchant shards aside), zeros left out."""
    out: dict[str, dict[tuple[Any, ...], Counter[str]]] = {}
    for name, model, keys in (
        ("daily", ReportDaily, ("distributor_id", "day")),
        ("channel", ReportChannelDaily, ("distributor_id", "day", "channel")),
        ("product", ReportProductDaily, ("distributor_id", "day", "product_id")),
    ):
        rows = {}
        for row in db.session.scalars(select(model).where(model.distributor_id > 0)):
            figures = Counter(
                {c: getattr(row, c) for c in COLUMNS if hasattr(row, c) and getattr(row, c)}
            )
            if figures:
                rows[tuple(getattr(row, k) for k in keys)] = figures
        out[name] = rows
    return out


def nonzero(counts: dict[tuple[Any, ...], Counter[str]]) -> dict[tuple[Any, ...], Counter[str]]:
    return {k: Counter({n: v for n, v in c.items() if v}) for k, c in counts.items() if +c}


def test_figures_per_day_channel_and_product_equal_a_direct_count(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    story = history(client, app, emulator, run_jobs)
    a, b = story["a"]["user_id"], story["b"]["user_id"]
    o1, o2, _o3 = story["orders"]
    with app.app_context():
        expected = {name: nonzero(rows) for name, rows in direct_counts().items()}
        assert stored() == expected
        # The history as a person would read it: A's direct sales straddle the midnight.
        from wxdist.models import Order

        before, after = (day(db.session.get(Order, o).paid_at) for o in (o1, o2))
        assert after - before == timedelta(days=1)
        assert expected["daily"][(a, before)]["paid_fen"] == 10_000
        assert expected["daily"][(a, after)]["paid_fen"] == 10_000  # two of product 2
        assert expected["daily"][(b, after)]["commission_fen"] == 1_000
        assert expected["daily"][(a, after)]["commission_fen"] == 1_000 + 500  # o2 + o3 (l2)
        assert sum(c["commission_clawed_fen"] for c in expected["daily"].values()) == 300
        assert {k[2] for k in expected["channel"] if k[0] == a} == {"group", "moments"}
        assert check_all() == []
    # A rebuild from the source rows (what the migration's note says to run) gives the same.
    result = app.test_cli_runner().invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0 and "3 orders" in result.output, result.output
    with app.app_context():
        assert stored() == expected
        assert check_all() == []


def test_a_refund_counted_twice_adds_nothing(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    story = history(client, app, emulator, run_jobs)
    with app.app_context():
        before = stored()
        insight.record_orders(story["orders"])
        db.session.commit()
        assert stored() == before
        assert check_all() == []


def test_the_funnel_counts_scan_open_bind_order_and_paid_on_the_right_code(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    story = history(client, app, emulator, run_jobs)
    response = client.get("/api/v1/distributor/reports/funnel", headers=story["a"]["headers"])
    assert response.status_code == 200, response.get_json()
    by_scene = {row["scene"]: row for row in response.get_json()["items"]}
    group = by_scene[story["codes"]["a_group"]]
    assert {k: group[k] for k in ("scans", "opens", "binds", "orders", "paid_fen")} == {
        "scans": 1,
        "opens": 1,
        "binds": 1,
        "orders": 1,
        "paid_fen": 10_000,
    }
    assert (group["refunded_fen"], group["net_paid_fen"], group["channel"]) == (
        3_000,
        7_000,
        "group",
    )
    moments = by_scene[story["codes"]["a_moments"]]
    # B and buyer 2 came through it; only buyer 2 bought (two of product 2).
    assert (moments["binds"], moments["orders"], moments["paid_fen"]) == (2, 1, 10_000)
    # B's code is B's: A does not see it, B sees buyer 3's order on it.
    assert story["codes"]["b_group"] not in by_scene
    theirs = client.get("/api/v1/distributor/reports/funnel", headers=story["b"]["headers"])
    b_codes = {row["scene"]: row for row in theirs.get_json()["items"]}
    b_code = b_codes[story["codes"]["b_group"]]
    assert (b_code["orders"], b_code["paid_fen"]) == (1, 10_000)
    # Codes that brought no order say so (the poster job may have made B a plain code).
    assert all(row["orders"] == 0 for scene, row in b_codes.items() if scene != b_code["scene"])
    with app.app_context():
        assert db.session.scalar(select(ShareCode.scans).where(ShareCode.scene == group["scene"]))


def test_the_distributor_centre_trend_channels_and_products(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    story = history(client, app, emulator, run_jobs)
    headers = story["a"]["headers"]
    trend = client.get("/api/v1/distributor/reports/trend?days=30", headers=headers).get_json()
    assert len(trend["items"]) == 30 and trend["items"][-1]["day"] == trend["last"]
    totals = trend["totals"]
    assert (totals["orders"], totals["paid_fen"], totals["refunded_fen"]) == (2, 20_000, 3_000)
    assert totals["net_sales_fen"] == 17_000
    # 10 % of 100.00 and of 100.00, 5 % of B's 100.00; 10 % of the 30.00 refunded back.
    assert (totals["commission_fen"], totals["commission_clawed_fen"]) == (2_500, 300)
    assert totals["net_commission_fen"] == 2_200
    assert totals["new_members"] == 3  # B, buyer 1 and buyer 2 bound to A
    channels = client.get("/api/v1/distributor/reports/channels", headers=headers).get_json()
    assert [(c["channel"], c["net_sales_fen"], c["share_pct"]) for c in channels["items"]] == [
        ("moments", 10_000, 58.8),
        ("group", 7_000, 41.2),
    ]
    products = client.get(
        "/api/v1/distributor/reports/products?days=90&limit=1", headers=headers
    ).get_json()
    assert [(p["title"], p["net_sales_fen"]) for p in products["items"]] == [("亚麻衬衫", 10_000)]


def test_report_endpoints_refuse_bad_input_and_non_distributors(
    client: FlaskClient, app: Flask
) -> None:
    from tests.shop import become_distributor

    shopper = login(client, "rep-shopper")
    for path in ("trend", "channels", "products", "funnel"):
        url = f"/api/v1/distributor/reports/{path}"
        assert client.get(url, headers=shopper).status_code == 403
        assert client.get(url).status_code == 401
    dist = become_distributor(client, "rep-lonely")
    bad = client.get("/api/v1/distributor/reports/trend?days=91", headers=dist["headers"])
    assert bad.status_code == 400 and "days" in str(bad.get_json())
    bad = client.get("/api/v1/distributor/reports/products?limit=x", headers=dist["headers"])
    assert bad.status_code == 400 and "limit" in str(bad.get_json())
    empty = client.get("/api/v1/distributor/reports/trend?days=90", headers=dist["headers"])
    assert empty.get_json()["totals"]["orders"] == 0 and len(empty.get_json()["items"]) == 90
