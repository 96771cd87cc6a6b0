"""Recommendations for distributors: what the audience buys outranks what sells elsewhere,
partners of it come next, nothing unsellable is offered, a newcomer gets the best sellers,
the refresh replaces lists atomically and idempotently, and the API serves the list with
the earning /distributor/products shows."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.shop import become_distributor, login, make_product, pay_order
from wxdist.core.extensions import db
from wxdist.models import (
    Distributor,
    DistributorRecommendation,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    Referral,
    Sku,
    User,
)
from wxdist.models.types import utcnow
from wxdist.recommendations.refresh import refresh_all

URL = "/api/v1/distributor/recommendations"
_numbers = itertools.count(1)


def _approved(app: Flask, code: str) -> int:
    with app.app_context():
        user = User(openid=f"rec-{code}")
        db.session.add(user)
        db.session.flush()
        db.session.add(Distributor(user_id=user.id, status="approved", approved_at=utcnow()))
        db.session.commit()
        return user.id


def _buyer(app: Flask, referrer_id: int | None = None) -> int:
    """A shopper, bound to `referrer_id` when given."""
    with app.app_context():
        user = User(openid=f"rec-buyer-{next(_numbers)}")
        db.session.add(user)
        db.session.flush()
        if referrer_id is not None:
            db.session.add(
                Referral(user_id=user.id, parent_id=referrer_id, path=f"/{referrer_id}/", depth=1,
                         bound_at=utcnow() - timedelta(days=30))
            )  # fmt: skip
        db.session.commit()
        return user.id


def _bought(app: Flask, buyer_id: int, product_ids: list[int], referrer_id: int | None = None):
    """A paid order of one unit of each product (history, as payment leaves it)."""
    now = utcnow() - timedelta(days=1)
    with app.app_context():
        order = Order(
            order_no=f"REC{next(_numbers):010d}", user_id=buyer_id, status=OrderStatus.PAID,
            goods_fen=0, payable_fen=0, paid_fen=0, receiver_name="张三",
            receiver_phone="13800138000", receiver_region="上海市", receiver_detail="1 号",
            expires_at=now, paid_at=now, referrer_l1_id=referrer_id,
        )  # fmt: skip
        db.session.add(order)
        db.session.flush()
        for product_id in product_ids:
            sku = db.session.scalars(select(Sku).where(Sku.product_id == product_id)).first()
            db.session.add(
                OrderItem(order_id=order.id, product_id=product_id, sku_id=sku.id, title="t",
                          sku_name="s", price_fen=sku.price_fen, quantity=1,
                          amount_fen=sku.price_fen, paid_fen=sku.price_fen,
                          commission_base_fen=sku.price_fen)
            )  # fmt: skip
        db.session.commit()


def _stored(app: Flask, distributor_id: int) -> list[tuple[int, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(DistributorRecommendation)
            .where(DistributorRecommendation.distributor_id == distributor_id)
            .order_by(DistributorRecommendation.rank)
        )
        return [(row.product_id, row.reason) for row in rows]


def _refresh(app: Flask) -> Any:
    with app.app_context():
        return refresh_all()


def _catalogue(app: Flask) -> dict[str, int]:
    products = {
        "tea_a": make_product(app, title="龙井", category="茶叶"),
        "tea_b": make_product(app, title="普洱", category="茶叶"),
        "tea_c": make_product(app, title="白茶", category="茶叶"),
        "snack": make_product(app, title="坚果", category="零食"),
        "towel": make_product(app, title="毛巾", category="日用"),
        "cup": make_product(app, title="茶杯", category="茶具"),
    }
    with app.app_context():  # one category for both teas
        tea = db.session.get(Product, products["tea_a"]["product_id"]).category_id
        for name in ("tea_b", "tea_c"):
            db.session.get(Product, products[name]["product_id"]).category_id = tea
        db.session.commit()
    return {name: p["product_id"] for name, p in products.items()}


def test_the_audience_category_outranks_a_more_popular_unrelated_product(app: Flask) -> None:
    ids = _catalogue(app)
    seller = _approved(app, "tea-seller")
    for name, customers in (("tea_a", 3), ("tea_b", 2)):  # the seller's customers drink tea
        for _ in range(customers):
            _bought(app, _buyer(app, seller), [ids[name]], referrer_id=seller)
    for name, strangers in (("snack", 10), ("towel", 3), ("tea_c", 2)):
        for _ in range(strangers):  # snacks sell far more than any tea, to strangers
            _bought(app, _buyer(app), [ids[name]])
    _refresh(app)
    stored = _stored(app, seller)
    ranked = [p for p, _reason in stored]
    assert ranked[:2] == [ids["tea_a"], ids["tea_b"]]
    assert ranked.index(ids["tea_b"]) < ranked.index(ids["snack"])
    # The taste carries to a tea none of them bought, above a towel that sold more.
    assert ranked.index(ids["tea_c"]) < ranked.index(ids["towel"])
    assert dict(stored)[ids["tea_a"]] == "audience"
    assert dict(stored)[ids["tea_c"]] == "category"
    assert dict(stored)[ids["snack"]] == "popular"


def test_a_co_purchase_partner_ranks_right_after_what_the_audience_buys(app: Flask) -> None:
    ids = _catalogue(app)
    seller = _approved(app, "towel-seller")
    for _ in range(2):
        _bought(app, _buyer(app, seller), [ids["towel"]], referrer_id=seller)
    for _ in range(3):  # others buy the towel with the tea cup
        _bought(app, _buyer(app), [ids["towel"], ids["cup"]])
    for _ in range(3):  # and the snack as often as the cup, alone
        _bought(app, _buyer(app), [ids["snack"]])
    _refresh(app)
    stored = _stored(app, seller)
    assert [p for p, _r in stored[:3]] == [ids["towel"], ids["cup"], ids["snack"]]
    assert [r for _p, r in stored[:3]] == ["audience", "co_purchase", "popular"]
    with app.app_context():
        row = db.session.get(DistributorRecommendation, (seller, 2))
        assert row.reason_product_id == ids["towel"]


def test_off_shelf_and_out_of_stock_products_are_never_recommended(app: Flask) -> None:
    ids = _catalogue(app)
    seller = _approved(app, "shelf-seller")
    customer = _buyer(app, seller)
    _bought(app, customer, [ids["tea_a"], ids["tea_b"], ids["towel"]], referrer_id=seller)
    with app.app_context():
        db.session.get(Product, ids["tea_a"]).on_shelf = False
        for sku in db.session.scalars(select(Sku).where(Sku.product_id == ids["tea_b"])):
            sku.stock = 0
        db.session.commit()
    _refresh(app)
    ranked = [p for p, _r in _stored(app, seller)]
    assert ids["towel"] in ranked
    assert ids["tea_a"] not in ranked and ids["tea_b"] not in ranked
    with app.app_context():  # and what sells out after a refresh is left out when read
        from wxdist.recommendations.service import recommended_page

        for sku in db.session.scalars(select(Sku).where(Sku.product_id == ids["towel"])):
            sku.stock = 0
        db.session.commit()
        page = recommended_page(seller, 1, 50)
        assert ids["towel"] not in [r.item.earning.product_id for r in page.items]


def test_a_distributor_without_history_gets_the_best_sellers(app: Flask) -> None:
    ids = _catalogue(app)
    newcomer = _approved(app, "newcomer")
    for count, name in ((5, "snack"), (3, "towel"), (1, "cup")):
        for _ in range(count):
            _bought(app, _buyer(app), [ids[name]])
    result = _refresh(app)
    stored = _stored(app, newcomer)
    assert [p for p, _r in stored[:3]] == [ids["snack"], ids["towel"], ids["cup"]]
    assert {reason for _p, reason in stored} == {"popular"}
    assert result.cold_start == 1


def test_the_refresh_replaces_a_list_atomically_and_is_idempotent(app: Flask) -> None:
    ids = _catalogue(app)
    seller = _approved(app, "again-seller")
    gone = _approved(app, "gone-seller")
    _bought(app, _buyer(app, seller), [ids["cup"]], referrer_id=seller)
    _bought(app, _buyer(app), [ids["snack"]])
    _refresh(app)
    first = _stored(app, seller)
    _refresh(app)
    assert _stored(app, seller) == first  # same history, same rows, no duplicates
    with app.app_context():
        db.session.get(Distributor, gone).status = "disabled"
        db.session.commit()
    # Atomic: a refresh that fails while writing a batch leaves that batch's old rows.
    from wxdist.recommendations import refresh

    with app.app_context():
        # The second row has no product: the database refuses it after the delete and
        # the first insert ran, in the same transaction.
        broken = [refresh.ranking.Ranked(ids["towel"], 2.0, "popular"),
                  refresh.ranking.Ranked(None, 1.0, "popular")]  # type: ignore[arg-type]  # fmt: skip
        with pytest.raises(IntegrityError):
            refresh._store({seller: broken}, utcnow())
    assert _stored(app, seller) == first
    _bought(app, _buyer(app, seller), [ids["towel"]], referrer_id=seller)
    _refresh(app)
    assert ids["towel"] in [p for p, _r in _stored(app, seller)]
    assert _stored(app, gone) == []  # no longer approved: no list


def test_the_api_refuses_a_non_distributor_and_lists_with_earnings(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    tea = make_product(app, title="龙井", category="茶叶", price_fen=26_800)
    make_product(app, title="坚果", category="零食", price_fen=9_900)
    assert client.get(URL, headers=login(client, "rec-shopper")).status_code == 403
    seller = become_distributor(client, "rec-api-seller")
    buyer = client.post(
        "/api/v1/auth/login", json={"code": "rec-api-buyer", "scene": seller["centre"]["scene"]}
    ).get_json()
    pay_order(client, emulator.url, {"Authorization": f"Bearer {buyer['token']}"}, tea["sku_id"])
    run_jobs()
    _refresh(app)
    response = client.get(URL, headers=seller["headers"], query_string={"per_page": 1})
    assert response.status_code == 200, response.get_json()
    listing = response.get_json()
    assert listing["total"] == 2 and len(listing["items"]) == 1
    first = listing["items"][0]
    assert first["id"] == tea["product_id"] and first["reason"] == "audience"
    assert first["reason_text"] == "Your customers often buy it"  # the test client: en
    promoted = client.get("/api/v1/distributor/products", headers=seller["headers"]).get_json()
    same = next(item for item in promoted["items"] if item["id"] == tea["product_id"])
    assert first["earning_min_fen"] == same["earning_min_fen"] == 2_680
    assert first["share"] == same["share"]
    zh = {**seller["headers"], "Accept-Language": "zh-CN"}
    in_chinese = client.get(URL, headers=zh).get_json()["items"]
    assert [item["reason_text"] for item in in_chinese] == ["你的客户常买", "热销"]
    assert client.get(URL, headers=seller["headers"], query_string={"page": 0}).status_code == 400


def test_a_reader_during_refreshes_sees_a_whole_list_old_or_new_never_a_mix(app: Flask) -> None:
    """A reader polling a distributor's list while refreshes rewrite it (the list changes
    between refreshes) only ever sees a list some refresh stored whole."""
    ids = _catalogue(app)
    seller = _approved(app, "watched-seller")
    _bought(app, _buyer(app, seller), [ids["tea_a"], ids["towel"]], referrer_id=seller)
    _bought(app, _buyer(app), [ids["snack"], ids["cup"]])
    _refresh(app)
    stored = [tuple(_stored(app, seller))]
    seen: list[tuple[Any, ...]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(tuple(_stored(app, seller)))

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        for turn in range(6):  # tea_b in and out of stock: six rows, then five
            with app.app_context():
                for sku in db.session.scalars(select(Sku).where(Sku.product_id == ids["tea_b"])):
                    sku.stock = 0 if turn % 2 == 0 else 10
                db.session.commit()
            _refresh(app)
            stored.append(tuple(_stored(app, seller)))
    finally:
        stop.set()
        reader.join(timeout=30)
    assert {len(rows) for rows in stored} == {5, 6}
    assert seen and set(seen) <= set(stored)


def test_the_audience_tables_count_each_buyer_once_and_only_what_counts(app: Flask) -> None:
    """The per-distributor signals from the refresh's temporary tables: an audience is
    the buyers bound to an approved distributor before the cut plus the buyers of orders
    attributed to them, each counted once per product; the distributor's own purchases,
    wholly refunded lines, bindings after the cut and unapproved distributors count for
    nothing; a share code's funnel pairs its scans with the attributed orders."""
    from wxdist.models import ShareCode
    from wxdist.recommendations.audience_tables import AudienceTables
    from wxdist.recommendations.signals import Window

    ids = _catalogue(app)
    seller = _approved(app, "tables-seller")
    pending = _approved(app, "tables-pending")
    regular = _buyer(app, seller)
    _bought(app, regular, [ids["tea_a"]])  # bound, not attributed
    _bought(app, regular, [ids["tea_a"], ids["snack"]])  # again: still one buyer of tea_a
    walk_in = _buyer(app)
    _bought(app, walk_in, [ids["tea_a"], ids["cup"]], referrer_id=seller)  # attributed only
    _bought(app, seller, [ids["towel"]], referrer_id=seller)  # their own purchase
    refunded = _buyer(app, seller)
    _bought(app, refunded, [ids["tea_b"]])
    late = _buyer(app, seller)
    _bought(app, late, [ids["tea_c"]])
    _bought(app, _buyer(app, pending), [ids["towel"]])
    with app.app_context():
        line = db.session.scalars(
            select(OrderItem).join(Order).where(Order.user_id == refunded)
        ).one()
        line.refunded_fen = line.paid_fen
        db.session.get(Referral, late).bound_at = utcnow() + timedelta(days=1)
        db.session.get(Distributor, pending).status = "pending"
        db.session.add_all(
            ShareCode(scene=f"tables-{n}", distributor_id=distributor, product_id=product,
                      product_key=product, channel=channel, scans=scans)
            for n, (distributor, product, channel, scans) in enumerate((
                (seller, ids["tea_a"], "", 10), (seller, ids["tea_a"], "moments", 5),
                (seller, ids["towel"], "", 3), (pending, ids["towel"], "", 7),
            ))
        )  # fmt: skip
        db.session.commit()
        with AudienceTables(Window(utcnow())) as tables:
            bought = tables.bought([seller, pending])
            channels = tables.channels([seller, pending])
        assert bought == {seller: {ids["tea_a"]: 2, ids["snack"]: 1, ids["cup"]: 1}}
        # tea_a: 15 scans, one attributed order holding it; towel: the seller's own order
        assert channels == {(seller, ids["tea_a"]): (15, 1), (seller, ids["towel"]): (3, 1)}
        with AudienceTables(Window(utcnow(), since=utcnow())) as tables:  # an empty window
            assert tables.bought([seller]) == {}
            assert tables.channels([seller]) == {(seller, ids["tea_a"]): (15, 0),
                                                 (seller, ids["towel"]): (3, 0)}  # fmt: skip
