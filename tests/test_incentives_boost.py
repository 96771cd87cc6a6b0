"""Rate boosts (wxdist.incentives.boosts) through the real purchase path: the campaign in
force when the order was paid sets the rate at each depth (highest priority wins, drafts
never), records name it, its extra is reserved against its budget (a record the budget
cannot cover falls back to the normal rate), a stop ends it for later orders, a refund
claws the boosted commission back without returning budget; reconcile clean after each."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.aftersale_helpers import manual_refunds, settle_refunds
from tests.shop import become_distributor, login, make_product, pay_order, set_settings
from wxdist.core.extensions import db
from wxdist.incentives import campaigns
from wxdist.models import Commission, IncentiveCampaign
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all


def boost(app: Flask, name: str, **fields: Any) -> int:
    now = utcnow()
    values: dict[str, Any] = {
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(hours=1),
        "rate_mode": "extra",
        "rate_bp": 500,
        "budget_fen": 1_000_000,
        "activate": True,
        **fields,
    }
    with app.app_context():
        return campaigns.create(campaigns.CampaignIn(name=name, kind="boost", **values)).id


def chain(client: FlaskClient, code: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """top → mid → buyer: mid earns depth 1, top depth 2."""
    top = become_distributor(client, f"{code}-top")
    login(client, f"{code}-mid", scene=top["centre"]["scene"])
    mid = become_distributor(client, f"{code}-mid")
    buyer = login(client, f"{code}-buyer", scene=mid["centre"]["scene"])
    return top, mid, buyer


def records(app: Flask, order_id: int) -> dict[int, tuple[int, int, str, int | None, int]]:
    """depth → (rate, amount, source, campaign, extra)."""
    with app.app_context():
        return {
            c.level: (c.rate_bp, c.amount_fen, c.rate_source, c.campaign_id, c.campaign_extra_fen)
            for c in db.session.scalars(select(Commission).where(Commission.order_id == order_id))
        }


def spent(app: Flask, campaign_id: int) -> int:
    with app.app_context():
        return db.session.get(IncentiveCampaign, campaign_id, populate_existing=True).spent_fen


def clean(app: Flask) -> None:
    with app.app_context():
        assert check_all() == []


def test_the_highest_priority_campaign_in_scope_sets_each_depths_rate_and_is_named(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500)
    top, mid, buyer = chain(client, "prio")
    star = make_product(app, price_fen=10_000, stock=20, category="家电")
    plain = make_product(app, price_fen=10_000, stock=20)
    everyone = boost(app, "全场加佣", rate_bp=500)
    focus = boost(
        app,
        "家电冲刺",
        rate_mode="override",
        rate_bp=3000,
        priority=5,
        scope="categories",
        scope_ids=(star["category_id"],),
    )
    boost(app, "草稿", rate_mode="override", rate_bp=9000, priority=99, activate=False)

    on_star = pay_order(client, emulator.url, buyer, star["sku_id"])
    on_plain = pay_order(client, emulator.url, buyer, plain["sku_id"])
    run_jobs()
    # The category campaign outranks the store-wide one; the draft applies to nothing.
    assert records(app, on_star["id"]) == {
        1: (3000, 3000, "campaign", focus, 2000),
        2: (3000, 3000, "campaign", focus, 2500),
    }
    assert records(app, on_plain["id"]) == {
        1: (1500, 1500, "campaign", everyone, 500),
        2: (1000, 1000, "campaign", everyone, 500),
    }
    assert spent(app, focus) == 4500 and spent(app, everyone) == 1000
    clean(app)
    # The mini-program: both boosts in force, best first, with what I earned at each rate.
    listed = client.get("/api/v1/distributor/campaigns", headers=mid["headers"]).get_json()
    assert [(c["id"], c["progress"]["measure_fen"]) for c in listed["items"]] == [
        (focus, 3000),
        (everyone, 1500),
    ]
    board = client.get(
        f"/api/v1/distributor/campaigns/{everyone}/leaderboard", headers=top["headers"]
    ).get_json()
    assert [(r["rank"], r["measure_fen"], r["is_me"]) for r in board["items"]] == [
        (1, 1500, False),
        (2, 1000, True),
    ]
    assert board["items"][0]["name"] == "王*"  # mid's real name 王五, masked
    from tests.panel_helpers import staff_client

    order_page = staff_client(app, "owner").get(f"/panel/orders/{on_star['id']}")
    assert f'href="/panel/incentives/{focus}"' in order_page.get_data(as_text=True)
    mine = client.get("/api/v1/distributor/commissions", headers=mid["headers"]).get_json()
    assert sorted((c["rate_bp"], c["campaign_id"]) for c in mine["items"]) == [
        (1500, everyone),
        (3000, focus),
    ]


def test_depths_together_never_exceed_the_item_under_a_boost(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500)
    _, _, buyer = chain(client, "cap")
    sku = make_product(app, price_fen=10_000, stock=5)["sku_id"]
    campaign = boost(app, "超级加佣", rate_mode="override", rate_bp=7000)
    order = pay_order(client, emulator.url, buyer, sku)
    run_jobs()
    # Depth 1 takes 70 %; depth 2's 70 % is capped at the 30 % left.
    assert records(app, order["id"]) == {
        1: (7000, 7000, "campaign", campaign, 6000),
        2: (3000, 3000, "campaign", campaign, 2500),
    }
    clean(app)


def test_a_budget_that_cannot_cover_the_extra_falls_back_to_the_normal_rate(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500)
    _, _, buyer = chain(client, "budget")
    sku = make_product(app, price_fen=10_000, stock=5)["sku_id"]
    campaign = boost(app, "小预算", rate_bp=500, budget_fen=700)
    first = pay_order(client, emulator.url, buyer, sku)
    second = pay_order(client, emulator.url, buyer, sku)
    run_jobs()
    # 500 + 500 extra on the first order does not fit 700: depth 1's does, depth 2's not.
    assert records(app, first["id"]) == {
        1: (1500, 1500, "campaign", campaign, 500),
        2: (500, 500, "default", None, 0),
    }
    assert records(app, second["id"]) == {  # 200 left covers no record
        1: (1000, 1000, "default", None, 0),
        2: (500, 500, "default", None, 0),
    }
    assert spent(app, campaign) == 500
    clean(app)


def test_a_stopped_campaign_boosts_nothing_paid_later_and_a_refund_keeps_its_budget_spent(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    manual_refunds(emulator)
    _, mid, buyer = chain(client, "stop")
    sku = make_product(app, price_fen=10_000, stock=5)["sku_id"]
    campaign = boost(app, "限时", rate_bp=1000)
    boosted = pay_order(client, emulator.url, buyer, sku)
    run_jobs()
    # Extra basis points go on top at every depth, one earning 0 % normally too.
    assert records(app, boosted["id"]) == {
        1: (2000, 2000, "campaign", campaign, 1000),
        2: (1000, 1000, "campaign", campaign, 1000),
    }
    with app.app_context():
        campaigns.stop(campaign)
    time.sleep(1.1)  # the gateway reports the payment time to the second
    later = pay_order(client, emulator.url, buyer, sku)
    run_jobs()
    assert records(app, later["id"]) == {1: (1000, 1000, "default", None, 0)}  # no depth 2

    with app.app_context():
        from wxdist.shop.refunds import request_refund

        request_refund(boosted["id"], 10_000, "退货")
    assert settle_refunds(app, emulator) == 1
    run_jobs()
    with app.app_context():
        clawed = db.session.scalars(
            select(Commission.clawed_fen).where(Commission.order_id == boosted["id"])
        ).all()
    assert clawed == [2000, 1000]  # the boosted commission is clawed back in full
    assert spent(app, campaign) == 2000  # the budget is not returned
    clean(app)
    assert mid["user_id"]


def test_reconcile_names_a_budget_overspent_or_a_bonus_without_its_entry(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    from wxdist.incentives import bonuses
    from wxdist.models import IncentiveBonus

    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0, freeze_days=0)
    _, mid, buyer = chain(client, "recon")
    sku = make_product(app, price_fen=10_000, stock=5)["sku_id"]
    campaign = boost(app, "对账", rate_bp=1000, budget_fen=5_000)
    now = utcnow()
    with app.app_context():
        bonus_id = campaigns.create(
            campaigns.CampaignIn(
                name="对账奖金",
                kind="bonus",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
                tiers=((5_000, 300),),
                activate=True,
            )
        ).id
    pay_order(client, emulator.url, buyer, sku)
    run_jobs()
    with app.app_context():
        assert bonuses.pay_campaign(bonus_id, 0, now + timedelta(hours=2)) == 1
    clean(app)
    with app.app_context():
        row = db.session.get(IncentiveCampaign, campaign)
        row.budget_fen = 500  # below the 2 x 1000 extra its records carry
        paid = db.session.scalars(select(IncentiveBonus)).one()
        paid.bonus_fen = 301  # the ledger says 300
        db.session.commit()
        problems = check_all()
    assert any(f"campaign {campaign}: spent 2000 of budget 500" in p for p in problems), problems
    assert any(
        f"user {mid['user_id']}: bonuses paid 301, bonus ledger entries 300" in p for p in problems
    ), problems
