"""Every panel page answers 200 to the roles of its area and 403 to the others, and the
dashboard shows what the daily aggregates counted."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.aftersale_helpers import apply, bought
from tests.panel_helpers import staff_client
from tests.shop import login, make_product, pay_order, wait_for_status
from tests.test_coupons import make_template
from tests.test_withdrawals import fund, withdraw
from wxdist.marketing import promotions
from wxdist.models.staff import StaffRole
from wxdist.models.types import utcnow
from wxdist.panel.access import AREAS
from wxdist.reporting import daily_stats
from wxdist.shop import refunds, shipping_templates

# Endpoints that are not pages of an area: signing in and out, the stylesheet.
OPEN_ENDPOINTS = {"panel.login", "panel.logout", "panel.static"}


def seed_objects(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> dict[str, int]:
    """One of everything a detail page can show: a distributor with a paid, settled
    referral sale, a withdrawal, an order, a product, and a coupon template with a
    limited-time discount and a full reduction on the product (the marketing pages), a
    published promotion material of the product, a flash sale of it, a shipping template,
    an incentive campaign, and a customer tag, note and bulk coupon issue."""
    distributor = fund(client, app, emulator, run_jobs, "walk", 3000)
    withdrawal = withdraw(client, distributor, 1000).get_json()
    product = make_product(app, title="新疆长绒棉 T 恤")
    with app.app_context():
        from wxdist.core.extensions import db
        from wxdist.models import Order

        order_id = db.session.query(Order.id).order_by(Order.id).first()[0]
    template_id = make_template(app, name="双十二满100减20")
    make_template(app, name="八五折券", off_fen=None, pay_rate_bp=8_500, cap_fen=3_000)
    with app.app_context():
        now = utcnow()
        promotions.create_timed_discount(
            "限时特价", product["sku_id"], now, now + timedelta(days=1), price_fen=990
        )
        promotions.create_full_reduction(
            promotions.ReductionSpec(
                "满两件减五元",
                now,
                now + timedelta(days=1),
                [{"threshold": 2, "off_fen": 500}],
                by_count=True,
                scope={"product_ids": [product["product_id"]]},
            )
        )
        shipping = shipping_templates.save_template(
            shipping_templates.TemplateSpec(
                "包邮除偏远",
                False,
                shipping_templates.RateSpec(1, 800, 1, 300),
                [shipping_templates.RuleSpec(1, 1500, 1, 500, codes=["440000", "110101"])],
                undelivered=["540000"],
                free_above_fen=9900,
            )
        )
        db.session.commit()
        shipping_template_id = shipping.id
    sold = bought(client, app, emulator, "walk-aftersale", stage="shipped")
    sale_id = apply(
        client, sold, kind="return_refund", amount_fen=2500, description="尺码不合适"
    ).get_json()["id"]
    with app.app_context():
        from wxdist.shop.aftersales import service as aftersales

        aftersales.agree(sale_id, aftersales.Actor(aftersales.SYSTEM))
    with app.app_context():
        from wxdist.sharing import materials

        material_id = materials.create_material(
            materials.MaterialInput(
                "双十二文案", "长绒棉，亲肤透气", product["product_id"], "双十二", published=True
            )
        ).id
    with app.app_context():
        from wxdist.incentives import campaigns

        campaign_id = campaigns.create(
            campaigns.CampaignIn(
                "月度冲刺",
                "bonus",
                utcnow() - timedelta(days=1),
                utcnow() + timedelta(days=6),
                period="custom",
                tiers=((500_000, 20_000), (2_000_000, 100_000)),
                activate=True,
            )
        ).id
    from tests.flash_helpers import make_activity

    flash_sale = make_activity(app, product["sku_id"], price_fen=990, stock=5)
    from tests.group_helpers import make_group_activity

    group_buy = make_group_activity(app, product["sku_id"], price_fen=990, stock=2)
    with app.app_context():  # the customer pages: a tag, a note, a bulk coupon issue
        from wxdist.customers import bulk, tags
        from wxdist.customers.listing import CustomerFilter

        vip = tags.create_tag("高价值客户")
        tags.set_tags(distributor["user_id"], [vip.id])
        tags.add_note(distributor["user_id"], "偏好长绒棉", "walk")
        bulk.start(CustomerFilter(tag_id=vip.id), template_id, "walk", "walk-bulk")
    with app.app_context():  # a webhook endpoint with a delivery in its log
        from wxdist.integrations import endpoints, outbox

        webhook = endpoints.create("https://erp.example.com/hooks", ["*"], "ERP")
        outbox.record("order.paid", {"order_no": "WXPAGES"})
        db.session.commit()
        from wxdist.integrations import api_keys

        key = api_keys.create("ERP", ["orders:read", "stock:write"], 600, None).key
    return {
        "key_pk": key.id,
        "endpoint_id": webhook.endpoint_id,
        "activity_id": flash_sale["activity_id"],
        "group_activity_id": group_buy["activity_id"],
        "campaign_id": campaign_id,
        "material_id": material_id,
        "aftersale_id": sale_id,
        "user_id": distributor["user_id"],
        "withdrawal_id": withdrawal["id"],
        "order_id": order_id,
        "product_id": product["product_id"],
        "template_id": template_id,
        "shipping_template_id": shipping_template_id,
    }


def panel_pages(app: Flask, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """(endpoint, url, area) of every GET page of the panel."""
    pages = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("panel.") or rule.endpoint in OPEN_ENDPOINTS:
            continue
        if "GET" not in (rule.methods or ()):
            continue
        view = app.view_functions[rule.endpoint]
        area = getattr(view, "panel_area", None)
        assert area in AREAS, f"{rule.endpoint} is not guarded by @area"
        missing = set(rule.arguments) - set(ids)
        assert not missing, f"no sample object for {rule.endpoint} {missing}"
        url = rule.build({name: ids[name] for name in rule.arguments})[1]
        pages.append((rule.endpoint, url, area))
    return pages


def test_every_page_answers_its_roles_and_refuses_the_others(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    ids = seed_objects(client, app, emulator, run_jobs)
    pages = panel_pages(app, ids)
    assert {"panel.dashboard", "panel.audit"} <= {endpoint for endpoint, _, _ in pages}
    staff = {role: staff_client(app, role) for role in StaffRole.ALL}
    anonymous = app.test_client()
    seen = []
    for endpoint, url, area in pages:
        for role, signed_in in staff.items():
            expected = 200 if role in AREAS[area] else 403
            status = signed_in.get(url).status_code
            seen.append((endpoint, role, status))
            assert status == expected, f"{role} on {endpoint} ({url}): {status}, not {expected}"
        assert anonymous.get(url).status_code == 302, f"{endpoint} open without signing in"
    assert any(status == 403 for _, _, status in seen)


def figures(html: str, label: str) -> tuple[str, str, str]:
    """(today, 7 days, 30 days) of the dashboard's metric card `label`."""
    match = re.search(
        rf"<span>{re.escape(label)}</span>\s*<b>([^<]*)</b>\s*<small[^>]*>today · 7 days "
        r"<em>([^<]*)</em> · 30 days <em>([^<]*)</em>",
        html,
    )
    assert match, f"no {label!r} card"
    return match.group(1), match.group(2), match.group(3)


def test_the_dashboard_counts_sales_refunds_distributors_and_commission(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    fund(client, app, emulator, run_jobs, "dash", 2500)  # a 25,000 fen referred sale at 10 %
    buyer = login(client, "dash-other")
    product = make_product(app, price_fen=9900, stock=3, title="Second")
    order = pay_order(client, emulator.url, buyer, product["sku_id"])
    run_jobs()
    with app.app_context():
        refunds.request_refund(order["id"], 900, reason="scratch")
    wait_for_status(client, buyer, order["id"], "paid")  # a part refund settles back to paid
    run_jobs()
    owner = staff_client(app, "owner")
    html = owner.get("/panel/").get_data(as_text=True)
    assert figures(html, "Paid orders") == ("2", "2", "2")
    assert figures(html, "Sales")[0] == "¥340.00"  # 250.00 + 99.00 - 9.00 refunded
    assert figures(html, "New distributors")[0] == "1"
    assert figures(html, "Commission credited")[2] == "¥25.00"
    with app.app_context():
        today = daily_stats.local_day()
        totals = daily_stats.total(daily_stats.by_day(today, today), today)
    assert (totals.refunds, totals.refunded_fen) == (1, 900)
    # Recounting from the orders, refunds and ledger gives the same figures.
    with app.app_context():
        from wxdist.core.extensions import db
        from wxdist.models import DailyStat

        db.session.query(DailyStat).delete()
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["stats-rebuild", "--days", "3"]).exit_code == 0
    with app.app_context():
        assert daily_stats.total(daily_stats.by_day(today, today), today) == totals


def test_the_dashboard_shows_waiting_withdrawals_and_low_stock(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    distributor = fund(client, app, emulator, run_jobs, "wait", 3000)
    for amount in (1000, 500):
        assert withdraw(client, distributor, amount).status_code == 201
    make_product(app, title="Almost gone", stock=2)
    html = staff_client(app, "finance").get("/panel/").get_data(as_text=True)
    waiting = html.split("Withdrawals waiting", 1)[1]
    assert re.match(r"</span>\s*<b>2</b>\s*<small[^>]*>sum <em>¥15.00</em>", waiting)
    assert "Almost gone" in html


@pytest.mark.parametrize("role", StaffRole.ALL)
def test_the_panel_sends_no_store_and_no_framing(app: Flask, role: str) -> None:
    response = staff_client(app, role).get("/panel/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
