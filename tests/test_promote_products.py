"""Products to promote: what the list says a distributor earns per unit is what attribution
credits them when a shopper they brought buys one, at their level and with the promotions
in force; sorting, paging and who may look."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.shop import become_distributor, login, make_product, pay_order, set_settings
from wxdist.core.extensions import db
from wxdist.distribution.distributors import LevelSpec, create_level, grant_level, set_disabled
from wxdist.marketing import promotions
from wxdist.models import Commission, Product, Sku
from wxdist.models.types import utcnow

URL = "/api/v1/distributor/products"


def _listing(client: FlaskClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(URL, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _item(listing: dict[str, Any], product_id: int) -> dict[str, Any]:
    return next(item for item in listing["items"] if item["id"] == product_id)


def _buyer_of(client: FlaskClient, seller: dict[str, Any], code: str) -> dict[str, str]:
    found = client.post(
        "/api/v1/auth/login", json={"code": code, "scene": seller["centre"]["scene"]}
    ).get_json()
    return {"Authorization": f"Bearer {found['token']}"}


def _credited(app: Flask, order_id: int, user_id: int) -> int:
    with app.app_context():
        return sum(
            db.session.scalars(
                select(Commission.amount_fen).where(
                    Commission.order_id == order_id, Commission.beneficiary_id == user_id
                )
            )
        )


def test_the_listed_earning_is_what_attribution_credits_at_two_levels_under_a_discount(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    product = make_product(app, price_fen=9_999, skus=2, title="限时")
    plain = make_product(app, price_fen=3_333, title="原价")
    now = utcnow()
    with app.app_context():
        gold = create_level(LevelSpec("金牌", 1, 1_550, 0)).id
        promotions.create_timed_discount(
            "双十二", product["sku_ids"][0], now - timedelta(hours=1), now + timedelta(hours=1),
            pay_rate_bp=8_500,
        )  # fmt: skip
        db.session.commit()
    plain_seller = become_distributor(client, "pp-plain")
    gold_seller = become_distributor(client, "pp-gold")
    with app.app_context():
        grant_level(gold_seller["user_id"], gold)

    for seller, rate in ((plain_seller, 1_000), (gold_seller, 1_550)):
        listing = _listing(client, seller["headers"])
        item = _item(listing, product["product_id"])
        discounted = 8_499  # 8.5折: ¥99.99 less 1499.85 fen, rounded to 1500
        assert item["rate_bp"] == rate
        assert item["promo_price_min_fen"] == discounted and item["promo_price_max_fen"] == 9_999
        assert item["earning_min_fen"] < item["earning_max_fen"]  # the two SKUs differ
        assert item["share"]["poster_url"].endswith(f"product_id={product['product_id']}")
        buyer = _buyer_of(client, seller, f"pp-buyer-{rate}")
        for sku_id, listed in (
            (product["sku_ids"][0], item["earning_min_fen"]),
            (product["sku_ids"][1], item["earning_max_fen"]),
            (plain["sku_id"], _item(listing, plain["product_id"])["earning_max_fen"]),
        ):
            order = pay_order(client, emulator.url, buyer, sku_id)
            run_jobs()
            assert listed > 0
            assert _credited(app, order["id"], seller["user_id"]) == listed

    gold_item = _item(_listing(client, gold_seller["headers"]), product["product_id"])
    plain_item = _item(_listing(client, plain_seller["headers"]), product["product_id"])
    assert gold_item["earning_max_fen"] > plain_item["earning_max_fen"]


def test_a_product_rate_wins_and_a_no_commission_promotion_shows_nothing_to_earn(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    cleared = make_product(app, price_fen=10_000, title="清仓")
    own = make_product(app, price_fen=10_000, title="高佣")
    now = utcnow()
    with app.app_context():
        db.session.get(Product, own["product_id"]).commission_l1_bp = 2_000
        promotions.create_timed_discount(
            "清仓不计佣", cleared["sku_id"], now - timedelta(hours=1), now + timedelta(hours=1),
            price_fen=5_000, no_commission=True,
        )  # fmt: skip
        db.session.commit()
    seller = become_distributor(client, "pp-nc")
    listing = _listing(client, seller["headers"])
    assert _item(listing, cleared["product_id"])["earning_max_fen"] == 0
    assert _item(listing, cleared["product_id"])["promo_price_min_fen"] == 5_000
    assert _item(listing, own["product_id"])["earning_max_fen"] == 2_000
    buyer = _buyer_of(client, seller, "pp-nc-buyer")
    order = pay_order(client, emulator.url, buyer, cleared["sku_id"])
    run_jobs()
    assert _credited(app, order["id"], seller["user_id"]) == 0


def test_sorted_by_earning_and_by_sales_and_paged(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    cheap = make_product(app, price_fen=1_000, title="便宜")
    dear = make_product(app, price_fen=50_000, title="贵")
    middle = make_product(app, price_fen=9_000, title="中等")
    make_product(app, price_fen=99_999, title="下架", on_shelf=False)
    seller = become_distributor(client, "pp-sort")
    shopper = login(client, "pp-sort-buyer")
    for _ in range(2):
        pay_order(client, emulator.url, shopper, cheap["sku_id"])
    pay_order(client, emulator.url, shopper, middle["sku_id"], quantity=3)
    run_jobs()

    def ids(**params: Any) -> list[int]:
        return [item["id"] for item in _listing(client, seller["headers"], **params)["items"]]

    by_id = {p["product_id"]: p for p in (cheap, dear, middle)}
    assert ids() == [dear["product_id"], middle["product_id"], cheap["product_id"]]
    assert ids(sort="earning_asc") == [
        cheap["product_id"],
        middle["product_id"],
        dear["product_id"],
    ]
    assert ids(sort="sales_desc") == [middle["product_id"], cheap["product_id"], dear["product_id"]]
    assert ids(sort="sales_asc")[0] == dear["product_id"]
    listing = _listing(client, seller["headers"], sort="sales_desc")
    assert [item["sales"] for item in listing["items"]] == [3, 2, 0]
    assert listing["total"] == 3 and set(by_id) == {i["id"] for i in listing["items"]}
    first = _listing(client, seller["headers"], per_page=2, page=1)
    second = _listing(client, seller["headers"], per_page=2, page=2)
    assert [i["id"] for i in first["items"] + second["items"]] == ids()
    assert first["total"] == second["total"] == 3


def test_only_distributors_see_it_and_a_bad_sort_is_named(client: FlaskClient, app: Flask) -> None:
    make_product(app)
    shopper = login(client, "pp-none")
    refused = client.get(URL, headers=shopper)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_distributor"
    assert client.get(URL).status_code == 401
    seller = become_distributor(client, "pp-bad")
    bad = client.get(URL, query_string={"sort": "price"}, headers=seller["headers"])
    assert bad.status_code == 400 and "sort" in bad.get_json()["error"]["fields"]
    with app.app_context():
        set_disabled(seller["user_id"], True)  # a disabled distributor neither shares nor earns
    assert client.get(URL, headers=seller["headers"]).status_code == 403


def test_the_order_by_earning_follows_a_rate_change_at_once(
    client: FlaskClient, app: Flask
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    low = make_product(app, price_fen=1_000)
    high = make_product(app, price_fen=5_000)
    seller = become_distributor(client, "pp-rate")
    order = [i["id"] for i in _listing(client, seller["headers"])["items"]]
    assert order == [high["product_id"], low["product_id"]]
    with app.app_context():
        db.session.get(Product, low["product_id"]).commission_l1_bp = 9_000
        db.session.commit()
    items = _listing(client, seller["headers"])["items"]
    assert [i["id"] for i in items] == [low["product_id"], high["product_id"]]
    assert items[0]["earning_max_fen"] == 900 and items[1]["earning_max_fen"] == 500


def test_products_under_a_promotion_are_ranked_by_their_promoted_earning(
    client: FlaskClient, app: Flask
) -> None:
    """The order by earning reads list prices x rate for most products; those a discount
    or a reachable full reduction touches are ranked by the figure the page shows."""
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    a = make_product(app, price_fen=10_000, title="A")  # discounted to 20.00: earns 200
    b = make_product(app, price_fen=6_000, title="B")  # list: earns 600
    c = make_product(app, price_fen=8_000, title="C")  # 满50减30 reached alone: earns 500
    d = make_product(app, price_fen=4_000, skus=2, title="D")  # 40.00 and 90.00: 400 to 900
    now = utcnow()
    with app.app_context():
        db.session.get(Sku, d["sku_ids"][1]).price_fen = 9_000
        promotions.create_timed_discount(
            "一口价", a["sku_id"], now - timedelta(hours=1), now + timedelta(hours=1),
            price_fen=2_000,
        )  # fmt: skip
        promotions.create_full_reduction(
            promotions.ReductionSpec(
                "满50减30",
                now - timedelta(hours=1),
                now + timedelta(hours=1),
                [{"threshold": 5_000, "off_fen": 3_000}],
                scope={"product_ids": [c["product_id"]]},
            )
        )
        db.session.commit()
    seller = become_distributor(client, "pp-promoted")
    listing = _listing(client, seller["headers"])
    shown = {i["id"]: (i["earning_min_fen"], i["earning_max_fen"]) for i in listing["items"]}
    assert shown[a["product_id"]] == (200, 200)
    assert shown[c["product_id"]] == (500, 500)
    by_max = sorted(shown, key=lambda pid: (-shown[pid][1], -pid))
    assert [i["id"] for i in listing["items"]] == by_max
    assert shown[d["product_id"]] == (400, 900)
    assert by_max == [d["product_id"], b["product_id"], c["product_id"], a["product_id"]]
    ascending = [i["id"] for i in _listing(client, seller["headers"], sort="earning_asc")["items"]]
    assert ascending == [a["product_id"], d["product_id"], c["product_id"], b["product_id"]]
    paged = [
        i["id"]
        for page in (1, 2, 3, 4)
        for i in _listing(client, seller["headers"], per_page=1, page=page)["items"]
    ]
    assert paged == by_max


def test_a_product_without_a_sku_on_sale_is_not_listed(client: FlaskClient, app: Flask) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    kept = make_product(app, price_fen=2_000)
    gone = make_product(app, price_fen=9_000)
    with app.app_context():
        db.session.get(Sku, gone["sku_id"]).is_active = False
        db.session.commit()
    seller = become_distributor(client, "pp-off")
    for sort in ("earning_desc", "earning_asc", "sales_desc", "newest"):
        listing = _listing(client, seller["headers"], sort=sort)
        assert [i["id"] for i in listing["items"]] == [kept["product_id"]]
        assert listing["total"] == 1
