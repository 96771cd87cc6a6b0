"""The customer list: figures net of refunds after pay, partial and full refund; filters by
tag, source distributor, spend and last order return exactly the right people; bulk coupon
issue gives each match one coupon and a retry none twice; reconcile stays clean."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from payments.emulator import EmulatorServer
from tests.shop import (
    become_distributor,
    login,
    make_product,
    pay_order,
    set_settings,
    wait_for_status,
)
from tests.test_coupons import make_template
from tests.test_withdrawals import clean
from wxdist.core.extensions import db
from wxdist.customers import bulk, listing, tags
from wxdist.customers.listing import CustomerFilter
from wxdist.models import BulkCouponIssue, Coupon, CouponAudience, CustomerStat, Order
from wxdist.models.types import utcnow
from wxdist.shop.refunds import request_refund


def _me(client: FlaskClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["id"]


def _row(app: Flask, user_id: int) -> listing.CustomerRow:
    with app.app_context():
        found = listing.detail(user_id)
        assert found is not None
        return found.row


def _ids(app: Flask, **filters: Any) -> set[int]:
    """Every customer the filter matches, walking all pages (2 a page)."""
    seen: list[int] = []
    with app.app_context():
        cursor = None
        while True:
            got = listing.page(CustomerFilter(**filters), cursor, per_page=2)
            seen.extend(row.user_id for row in got.rows)
            cursor = got.next_cursor
            if cursor is None:
                break
    assert len(seen) == len(set(seen))
    return set(seen)


def test_figures_are_net_of_refunds_after_pay_partial_and_full_refund(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    seller = become_distributor(client, "cust-seller")
    headers = login(client, "cust-buyer", scene=seller["centre"]["scene"])
    buyer = _me(client, headers)
    fresh = _row(app, buyer)  # a new account is a customer at once, sourced by the binding
    assert (fresh.orders, fresh.spend_fen, fresh.last_order_at) == (0, 0, None)
    assert fresh.source_id == seller["user_id"]
    with app.app_context():  # tagged before buying: the tag's copies of the figures follow
        regular = tags.create_tag("常客").id
        tags.set_tags(buyer, [regular])

    product = make_product(app, price_fen=5000, stock=10)
    first = pay_order(client, emulator.url, headers, product["sku_id"])
    second = pay_order(client, emulator.url, headers, product["sku_id"], quantity=2)
    run_jobs()
    paid = _row(app, buyer)
    assert (paid.orders, paid.spend_fen) == (2, 15000)
    with app.app_context():
        times = [db.session.get(Order, o["id"]).paid_at for o in (first, second)]
    assert (paid.first_order_at, paid.last_order_at) == (min(times), max(times))
    clean(app)

    with app.app_context():
        request_refund(second["id"], 3000, "部分退款")
    wait_for_status(client, headers, second["id"], "paid")
    partial = _row(app, buyer)
    assert (partial.orders, partial.spend_fen) == (2, 12000)
    assert _ids(app, tag_id=regular, spend_min_fen=12000) == {buyer}
    clean(app)

    with app.app_context():
        request_refund(first["id"], 5000, "全额退款")
    wait_for_status(client, headers, first["id"], "refunded")
    full = _row(app, buyer)
    assert (full.orders, full.spend_fen) == (1, 7000)
    assert full.last_order_at == max(times)
    assert _ids(app, tag_id=regular, spend_min_fen=12000) == set()
    assert _ids(app, tag_id=regular, spend_max_fen=7000, sort="spend") == {buyer}
    clean(app)


def _shopper(client: FlaskClient, code: str, scene: str | None = None) -> tuple[dict, int]:
    headers = login(client, code, **({"scene": scene} if scene else {}))
    return headers, _me(client, headers)


def _set_stats(app: Flask, user_id: int, spend: int, days_ago: int | None) -> None:
    """Figures as attribution would leave them (the order flow is tested above)."""
    with app.app_context():
        last = None if days_ago is None else utcnow() - timedelta(days=days_ago)
        db.session.execute(
            update(CustomerStat)
            .where(CustomerStat.user_id == user_id)
            .values(
                spend_fen=spend,
                orders=1 if spend else 0,
                last_order_at=last,
                first_order_at=last,
            )
        )
        db.session.commit()


def test_filters_return_exactly_the_right_people_in_order(client: FlaskClient, app: Flask) -> None:
    a = become_distributor(client, "src-a")
    b = become_distributor(client, "src-b")
    _, u1 = _shopper(client, "f-1", a["centre"]["scene"])
    _, u2 = _shopper(client, "f-2", a["centre"]["scene"])
    _, u3 = _shopper(client, "f-3", b["centre"]["scene"])
    _, u4 = _shopper(client, "f-4")
    _set_stats(app, u1, 10_000, 1)
    _set_stats(app, u2, 50_000, 40)
    _set_stats(app, u3, 30_000, 5)
    _set_stats(app, u4, 0, None)
    with app.app_context():
        vip = tags.create_tag("VIP").id
        tags.create_tag("潜客")
        tags.set_tags(u2, [vip])
        tags.set_tags(u3, [vip])

    mine = {u1, u2, u3, u4}
    assert _ids(app) >= mine
    assert _ids(app, tag_id=vip) == {u2, u3}
    assert _ids(app, source_id=a["user_id"]) == {u1, u2}
    assert _ids(app, source_id=b["user_id"]) == {u3}
    assert _ids(app, spend_min_fen=20_000, spend_max_fen=50_000) == {u2, u3}
    assert _ids(app, spend_min_fen=10_000, spend_max_fen=10_000) == {u1}
    now = utcnow()
    recent = {"last_order_from": now - timedelta(days=7), "last_order_to": now}
    assert _ids(app, **recent) == {u1, u3}
    assert _ids(app, tag_id=vip, **recent) == {u3}
    assert _ids(app, source_id=a["user_id"], spend_min_fen=20_000) == {u2}

    with app.app_context():
        by_spend = listing.page(CustomerFilter(sort="spend"), per_page=3).rows
        assert [r.user_id for r in by_spend] == [u2, u3, u1]
        by_last = listing.page(CustomerFilter(sort="last_order", source_id=a["user_id"])).rows
        assert [r.user_id for r in by_last] == [u1, u2]
        newest = listing.page(CustomerFilter(sort="newest"), per_page=50).rows
        order = [r.user_id for r in newest if r.user_id in mine]
        assert order == [u4, u3, u2, u1]
        counted = listing.page(CustomerFilter(tag_id=vip))
        assert (counted.total, counted.total_capped) == (2, False)
        assert [r.tags for r in counted.rows] == [["VIP"], ["VIP"]]


def test_bulk_issue_gives_each_match_one_coupon_and_a_retry_none_twice(
    client: FlaskClient, app: Flask, run_jobs
) -> None:
    a = become_distributor(client, "bulk-src")
    members = [_shopper(client, f"bulk-{i}", a["centre"]["scene"])[1] for i in range(5)]
    _, outsider = _shopper(client, "bulk-out")
    template = make_template(app, audience=CouponAudience.STAFF_ISSUED, total=4, per_user_limit=3)
    flt = CustomerFilter(source_id=a["user_id"])
    with app.app_context():
        issue = bulk.start(flt, template, "owner", "form-key-1")
    run_jobs()  # the RQ job (inline without Redis: it already ran)
    with app.app_context():
        done = db.session.get(BulkCouponIssue, issue.id, populate_existing=True)
        assert (done.status, done.matched, done.issued, done.refused) == ("done", 5, 4, 1)
        assert '"sold_out": 1' in done.refusals_json
        # The same form sent again starts nothing; the job run again issues nothing twice.
        assert bulk.start(flt, template, "owner", "form-key-1").id == issue.id
        db.session.execute(
            update(BulkCouponIssue)
            .where(BulkCouponIssue.id == issue.id)
            .values(status="running", cursor_user_id=0)
        )
        db.session.commit()
        bulk.run(issue.id)
        held = dict(
            db.session.execute(
                select(Coupon.user_id, func.count())
                .where(Coupon.template_id == template)
                .group_by(Coupon.user_id)
            )
            .tuples()
            .all()
        )
    assert set(held) <= set(members) and outsider not in held
    assert sorted(held.values()) == [1, 1, 1, 1]
    assert _row(app, members[0]).coupons_held + _row(app, members[4]).coupons_held >= 1
    clean(app)


def test_a_deleted_account_loses_its_tags_and_notes_and_the_export_has_no_notes(
    client: FlaskClient, app: Flask
) -> None:
    headers, user_id = _shopper(client, "priv-1")
    with app.app_context():
        vip = tags.create_tag("复购")
        tags.set_tags(user_id, [vip.id])
        tags.add_note(user_id, "投诉过物流慢", "owner")
    export = client.get("/api/v1/me/export", headers=headers).get_json()
    assert export["customer_tags"] == ["复购"]
    assert "投诉过物流慢" not in str(export)

    confirm = client.post("/api/v1/me/deletion/request", headers=headers).get_json()["confirm"]
    done = client.post("/api/v1/me/deletion", json={"confirm": confirm}, headers=headers)
    assert done.status_code == 200, done.get_json()
    with app.app_context():
        from wxdist.models import CustomerNote, UserTag

        assert db.session.scalar(select(func.count()).select_from(UserTag)) == 0
        assert db.session.scalar(select(func.count()).select_from(CustomerNote)) == 0
        assert [t.name for t, n in tags.all_tags()] == ["复购"]  # the tag itself stays
        gone = listing.detail(user_id)
        assert gone is not None and gone.row.deleted and gone.notes == []
    clean(app)
