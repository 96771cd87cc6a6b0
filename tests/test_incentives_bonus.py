"""Sales bonuses (wxdist.incentives.bonuses): paid once per distributor and campaign, not
before the refund window (end + freeze days) closes, on net sales reduced by the refunds
settled inside it, through the real order, payment and refund path; reconcile clean after
each step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from jobs.incentives import pay_sales_bonuses
from payments.emulator import EmulatorServer
from tests.aftersale_helpers import manual_refunds, settle_refunds
from tests.shop import become_distributor, centre, login, make_product, pay_order, set_settings
from wxdist.core.extensions import db
from wxdist.incentives import bonuses, campaigns
from wxdist.models import IncentiveBonus, LedgerEntry
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all


def _bonus_campaign(app: Flask, **changes: Any) -> tuple[int, Any]:
    """¥50 → ¥2, ¥200 → ¥10 (threshold 5,000 / 20,000 fen), for the hour around now."""
    now = utcnow()
    with app.app_context():
        data = campaigns.CampaignIn(
            name="双十二冲刺",
            kind="bonus",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
            period="custom",
            tiers=((5_000, 200), (20_000, 1_000)),
            activate=True,
            **changes,
        )
        campaign = campaigns.create(data)
        return campaign.id, campaign.ends_at


def _available(client: FlaskClient, who: dict[str, Any]) -> int:
    return centre(client, who["headers"])["balances"]["available_fen"]


def _clean(app: Flask) -> None:
    with app.app_context():
        assert check_all() == []


def test_bonus_waits_for_the_refund_window_pays_the_tier_net_of_refunds_and_only_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=0, level2_rate_bp=0, freeze_days=7)
    manual_refunds(emulator)  # the conftest puts the emulator's config back after the test
    big = become_distributor(client, "bonus-big")
    small = become_distributor(client, "bonus-small")
    idle = become_distributor(client, "bonus-idle")
    buyer_big = login(client, "bonus-buyer-1", scene=big["centre"]["scene"])
    buyer_small = login(client, "bonus-buyer-2", scene=small["centre"]["scene"])
    sku = make_product(app, price_fen=10_000, stock=50)["sku_id"]
    campaign_id, ends_at = _bonus_campaign(app)

    first = pay_order(client, emulator.url, buyer_big, sku)
    pay_order(client, emulator.url, buyer_big, sku)
    refunded = pay_order(client, emulator.url, buyer_small, sku)
    pay_order(client, emulator.url, buyer_small, sku)
    run_jobs()
    with app.app_context():
        assert bonuses.net_sales(ends_at - timedelta(hours=2), ends_at) == {
            big["user_id"]: 20_000,
            small["user_id"]: 20_000,
        }
        # A refund inside the window: small's sales drop from ¥200 to ¥150, tier 2 to tier 1.
        from wxdist.shop.refunds import request_refund

        request_refund(refunded["id"], 5_000, "部分退款")
    assert settle_refunds(app, emulator) == 1  # the gateway settles it, its notify arrives
    run_jobs()
    with app.app_context():
        assert bonuses.net_sales(ends_at - timedelta(hours=2), ends_at)[small["user_id"]] == 15_000
    _clean(app)

    with app.app_context():
        # The window is over but the refund window (7 freeze days) is not: nothing paid.
        assert bonuses.pay_due(7, ends_at + timedelta(days=6, hours=23)) == 0
        assert db.session.scalars(select(IncentiveBonus)).all() == []
    assert _available(client, big) == 0
    _clean(app)

    with app.app_context():
        assert bonuses.pay_due(7, ends_at + timedelta(days=7, seconds=1)) == 2
        paid = {
            row.distributor_id: (row.sales_fen, row.threshold_fen, row.bonus_fen)
            for row in db.session.scalars(select(IncentiveBonus))
        }
    assert paid == {
        big["user_id"]: (20_000, 20_000, 1_000),  # the highest tier reached, not 200 + 1000
        small["user_id"]: (15_000, 5_000, 200),  # the refund took it down a tier
    }
    assert _available(client, big) == 1_000
    assert _available(client, small) == 200
    assert _available(client, idle) == 0
    _clean(app)

    # Run again (and through the job): nothing is paid twice.
    with app.app_context():
        assert bonuses.pay_due(7, ends_at + timedelta(days=8)) == 0
        assert bonuses.pay_campaign(campaign_id, 7, ends_at + timedelta(days=9)) == 0
        assert pay_sales_bonuses() == {"bonuses_paid": 0}
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "bonus")).all()
        assert sorted(e.amount_fen for e in entries) == [200, 1_000]
    assert _available(client, big) == 1_000
    _clean(app)
    assert first["status"] == "paid"


def test_a_bonus_row_already_there_is_not_paid_again_even_if_the_campaign_looks_unpaid(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    """Two workers at once: the second finds the unique (campaign, distributor) row."""
    set_settings(app, level1_rate_bp=0, level2_rate_bp=0, freeze_days=0)
    seller = become_distributor(client, "bonus-twice")
    buyer = login(client, "bonus-twice-buyer", scene=seller["centre"]["scene"])
    sku = make_product(app, price_fen=6_000, stock=5)["sku_id"]
    campaign_id, ends_at = _bonus_campaign(app)
    pay_order(client, emulator.url, buyer, sku)
    run_jobs()
    with app.app_context():
        assert bonuses.pay_campaign(campaign_id, 0, ends_at + timedelta(seconds=1)) == 1
        campaign = campaigns.get(campaign_id)
        campaign.bonuses_paid_at = None  # as a second worker that read it before the mark
        db.session.commit()
        assert bonuses.pay_campaign(campaign_id, 0, ends_at + timedelta(seconds=2)) == 0
    assert _available(client, seller) == 200
    _clean(app)


def test_a_draft_pays_nothing_and_the_next_tier_shows_what_is_missing(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=0, level2_rate_bp=0, freeze_days=0)
    seller = become_distributor(client, "bonus-draft")
    buyer = login(client, "bonus-draft-buyer", scene=seller["centre"]["scene"])
    sku = make_product(app, price_fen=6_000, stock=5)["sku_id"]
    _, ends_at = _bonus_campaign(app)
    now = utcnow()
    with app.app_context():
        draft = campaigns.create(
            campaigns.CampaignIn(
                name="草稿",
                kind="bonus",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
                tiers=((1, 1),),
            )
        )
        draft_id = draft.id
    pay_order(client, emulator.url, buyer, sku)
    run_jobs()
    response = client.get("/api/v1/distributor/campaigns", headers=seller["headers"])
    assert response.status_code == 200, response.get_json()
    listed = response.get_json()["items"]
    assert [c["name"] for c in listed] == ["双十二冲刺"]  # the draft is not shown
    progress = listed[0]["progress"]
    assert progress["measure_fen"] == 6_000
    assert (progress["reached_bonus_fen"], progress["next_threshold_fen"]) == (200, 20_000)
    assert progress["to_next_fen"] == 14_000
    with app.app_context():
        assert bonuses.pay_campaign(draft_id, 0, ends_at + timedelta(days=1)) == 0
        assert bonuses.pay_due(0, ends_at + timedelta(seconds=1)) == 1
    _clean(app)
