"""The 激励活动 pages and the distributor's campaign API: staff create a boost with the
form (errors beside the field), see it in Chinese and English, stop it; a bonus campaign's
page shows the leaderboard with full names and the bonuses paid, while distributors see
the leaderboard with masked names and their own row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.panel_helpers import post_form, staff_client
from tests.shop import become_distributor, login, make_product, pay_order, set_settings
from tests.test_incentives_bonus import _bonus_campaign
from wxdist.core.extensions import db
from wxdist.incentives import bonuses
from wxdist.models import IncentiveCampaign

BOOST_FORM = {
    "kind": "boost",
    "name": "周末加佣",
    "starts_at": "2026-12-12T00:00",
    "ends_at": "2026-12-14T00:00",
    "scope": "all",
    "scope_ids": "",
    "rate_mode": "extra",
    "rate_bp": "5",
    "priority": "3",
    "budget_fen": "1000.00",
    "period": "custom",
    "activate": "y",
}


def test_staff_create_a_boost_see_it_in_both_languages_and_stop_it(app: Flask) -> None:
    staff = staff_client(app, "operator")
    bad = post_form(
        staff, "/panel/incentives/new", "/panel/incentives/new", **{**BOOST_FORM, "budget_fen": ""}
    )
    assert bad.status_code == 400
    assert "must be more than 0" in bad.get_data(as_text=True)  # beside the budget field
    made = post_form(staff, "/panel/incentives/new", "/panel/incentives/new", **BOOST_FORM)
    assert made.status_code == 303, made.get_data(as_text=True)[:2000]
    with app.app_context():
        campaign = db.session.scalars(select(IncentiveCampaign)).one()
        assert (campaign.rate_mode, campaign.rate_bp, campaign.priority) == ("extra", 500, 3)
        assert campaign.budget_fen == 100_000 and campaign.status == "active"
        # 2026-12-12 00:00 in Shanghai is 2026-12-11 16:00 UTC.
        assert campaign.starts_at.isoformat() == "2026-12-11T16:00:00"
        campaign_id = campaign.id
    zh = staff.get("/panel/incentives", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "周末加佣" in zh and "激励活动" in zh and "¥0.00 / ¥1,000.00" in zh
    en = staff.get(f"/panel/incentives/{campaign_id}").get_data(as_text=True)
    assert "Stop the campaign now" in en and "extra on top of the normal rate: 5.00%" in en
    stopped = post_form(
        staff,
        f"/panel/incentives/{campaign_id}",
        f"/panel/incentives/{campaign_id}/stop",
        action="stop",
    )
    assert stopped.status_code == 303
    with app.app_context():
        assert db.session.get(IncentiveCampaign, campaign_id).status == "ended"
    again = staff.get(f"/panel/incentives/{campaign_id}").get_data(as_text=True)
    assert "Stop the campaign now" not in again and "ended" in again


def test_the_leaderboard_is_masked_for_distributors_and_full_for_the_merchant(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=0, level2_rate_bp=0, freeze_days=0)
    first = become_distributor(client, "lb-first", real_name="张三丰")
    second = become_distributor(client, "lb-second", real_name="李四")
    sku = make_product(app, price_fen=6_000, stock=10)["sku_id"]
    for seller, orders in ((first, 2), (second, 1)):
        buyer = login(client, f"{seller['user_id']}-buyer", scene=seller["centre"]["scene"])
        for _ in range(orders):
            pay_order(client, emulator.url, buyer, sku)
    run_jobs()
    campaign_id, ends_at = _bonus_campaign(app)

    seen = client.get(
        f"/api/v1/distributor/campaigns/{campaign_id}/leaderboard", headers=second["headers"]
    )
    assert seen.status_code == 200, seen.get_json()
    board = seen.get_json()
    assert [(r["rank"], r["name"], r["measure_fen"], r["is_me"]) for r in board["items"]] == [
        (1, "张*丰", 12_000, False),
        (2, "李四", 6_000, True),  # my own name in full
    ]
    assert board["me"]["rank"] == 2 and board["total"] == 2
    shopper = login(client, "lb-shopper")
    refused = client.get(
        f"/api/v1/distributor/campaigns/{campaign_id}/leaderboard", headers=shopper
    )
    assert refused.status_code == 403
    missing = client.get(
        "/api/v1/distributor/campaigns/999999/leaderboard", headers=second["headers"]
    )
    assert missing.status_code == 404

    with app.app_context():
        assert bonuses.pay_due(0, ends_at + timedelta(seconds=1)) == 2
    page = staff_client(app, "owner").get(f"/panel/incentives/{campaign_id}").get_data(as_text=True)
    assert "张三丰" in page and "李四" in page  # unmasked for the merchant
    assert "<title>#1 张三丰: ¥120.00</title>" in page  # the chart's first bar
    # ¥120 and ¥60 of sales both reach the ¥50 tier only: ¥2 each.
    assert page.count("¥2.00") == 2 + 1  # two bonuses paid, and the tier shown once


def test_a_draft_bonus_is_edited_with_its_tiers_then_started(app: Flask) -> None:
    staff = staff_client(app, "owner")
    form = {
        "kind": "bonus",
        "name": "十二月冲刺",
        "starts_at": "2026-12-01T00:00",
        "ends_at": "",
        "scope": "all",
        "rate_mode": "extra",
        "period": "month",
        "tiers-0-threshold_fen": "5000",
        "tiers-0-bonus_fen": "200",
        "tiers-1-threshold_fen": "20000",
        "tiers-1-bonus_fen": "100",  # less than the lower tier pays
    }
    refused = post_form(staff, "/panel/incentives/new", "/panel/incentives/new", **form)
    assert refused.status_code == 400
    assert "a higher threshold must pay a higher bonus" in refused.get_data(as_text=True)
    made = post_form(
        staff,
        "/panel/incentives/new",
        "/panel/incentives/new",
        **{**form, "tiers-1-bonus_fen": "1000"},
    )
    assert made.status_code == 303
    with app.app_context():
        campaign = db.session.scalars(select(IncentiveCampaign)).one()
        campaign_id = campaign.id
        assert campaign.status == "draft"
        # A month in Shanghai: 12-01 00:00 to 01-01 00:00 (UTC 8 hours earlier).
        assert (campaign.starts_at.isoformat(), campaign.ends_at.isoformat()) == (
            "2026-11-30T16:00:00",
            "2026-12-31T16:00:00",
        )
    edit_url = f"/panel/incentives/{campaign_id}/edit"
    shown = staff.get(edit_url).get_data(as_text=True)
    assert 'value="5000.00"' in shown and 'value="1000.00"' in shown
    changed = post_form(
        staff,
        edit_url,
        edit_url,
        **{
            **form,
            "tiers-1-bonus_fen": "1200",
            "tiers-2-threshold_fen": "50000",
            "tiers-2-bonus_fen": "5000",
            "activate": "y",
        },
    )
    assert changed.status_code == 303, changed.get_data(as_text=True)[:3000]
    with app.app_context():
        campaign = db.session.get(IncentiveCampaign, campaign_id)
        assert campaign.status == "active"
        assert [(t.threshold_fen, t.bonus_fen) for t in campaign.tiers] == [
            (500_000, 20_000),
            (2_000_000, 120_000),
            (5_000_000, 500_000),
        ]
