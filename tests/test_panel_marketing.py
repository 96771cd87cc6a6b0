"""The merchant panel's marketing pages, used as staff use them (real forms with CSRF),
checked where a shopper would notice: a coupon template created in the panel is listed
with its counts and claimable through the API, a paused one is not; coupons issued to a
list of users; a limited-time discount lowers the product's API price, a full reduction
comes off an order preview until it is ended. Errors stand beside their fields in Chinese.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.panel_helpers import post_form, staff_client
from tests.shop import login, make_product
from tests.test_coupons import claim, make_template
from wxdist.core.clock import to_local
from wxdist.core.extensions import db
from wxdist.models import AuditEntry, CouponTemplate, FullReductionRecord, TimedDiscountRecord
from wxdist.models.types import utcnow

COUPONS = "/panel/marketing/coupons"
PROMOTIONS = "/panel/marketing/promotions"


def local(moment: datetime) -> str:
    """A stored UTC moment as staff type it: Shanghai, to the minute."""
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


def chinese(client: FlaskClient) -> FlaskClient:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    return client


def field_errors(html: str, name: str) -> list[str]:
    """The error messages shown inside the label of the input called `name`."""
    for label in re.findall(r'<label class="field[^"]*">(.*?)</label>', html, re.S):
        if f'name="{name}"' in label:
            return re.findall(r'<em class="error">([^<]*)</em>', label)
    raise AssertionError(f"no field {name!r} on the page")


def flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash [a-z]+" role="status">([^<]*)</div>', html)


def row(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def coupon_form(**changes: Any) -> dict[str, Any]:
    now = utcnow()
    form = {
        "name": "满100减20",
        "audience": "anyone",
        "off_fen": "20",
        "threshold_fen": "100",
        "claim_starts_at": local(now - timedelta(hours=1)),
        "claim_ends_at": "2030-01-01T08:00",
        "validity": "days",
        "valid_days": "30",
        "total": "50",
        "per_user_limit": "1",
        "refund_policy": "return",
        "stackable": "y",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


def audit_entries(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        entries = db.session.query(AuditEntry).filter_by(action=action).all()
        db.session.expunge_all()
        return entries


def test_a_coupon_created_in_the_panel_is_listed_with_its_counts_and_claimable(
    client: FlaskClient, app: Flask
) -> None:
    owner = staff_client(app, "owner")
    created = post_form(owner, COUPONS, COUPONS, **coupon_form())
    assert created.status_code == 303, created.get_data(as_text=True)[:3000]
    with app.app_context():
        template = db.session.query(CouponTemplate).one()
        template_id = template.id
        # typed as Shanghai time, stored as UTC
        assert template.claim_ends_at == datetime(2030, 1, 1, 0, 0)
        assert (template.off_fen, template.threshold_fen, template.valid_days) == (2000, 10000, 30)
    assert created.headers["Location"].endswith(f"{COUPONS}/{template_id}")
    assert "Coupon “满100减20” created." in flashes(
        owner.get(created.headers["Location"]).get_data(as_text=True)
    )

    rate = post_form(
        owner,
        COUPONS,
        COUPONS,
        **coupon_form(name="85折券", off_fen="", pay_rate_bp="8.5", cap_fen="30", threshold_fen=""),
    )
    assert rate.status_code == 303
    with app.app_context():
        stored = db.session.query(CouponTemplate).filter_by(name="85折券").one()
        assert (stored.pay_rate_bp, stored.cap_fen, stored.threshold_fen) == (8500, 3000, 0)
        rate_id = stored.id

    shopper = login(client, "panel-coupon-shopper")
    assert claim(client, shopper, template_id).status_code == 201
    listed = owner.get(COUPONS).get_data(as_text=True)
    line = row(listed, f"template-{template_id}")
    assert "¥20.00 off" in line and "over ¥100.00" in line and "30 days after claiming" in line
    assert "1 / 50" in line and "any shopper" in line and "active" in line
    assert "8.5/10 of the price, at most ¥30.00 off" in row(listed, f"template-{rate_id}")
    zh = chinese(owner).get(COUPONS).get_data(as_text=True)
    assert "8.5 折，最多减 ¥30.00" in row(zh, f"template-{rate_id}")
    assert "减 ¥20.00" in row(zh, f"template-{template_id}")
    detail = owner.get(f"{COUPONS}/{template_id}").get_data(as_text=True)
    assert re.search(r"<dt>未使用</dt><dd>1</dd>", detail)
    (entry,) = audit_entries(app, "coupon_template.create")[:1]
    assert entry.target_id == str(template_id)


def test_a_coupon_form_with_errors_names_the_fields_in_chinese(app: Flask) -> None:
    owner = chinese(staff_client(app, "owner"))
    typed = post_form(owner, COUPONS, COUPONS, **coupon_form(total="很多", product_ids="12, x"))
    assert typed.status_code == 400
    html = typed.get_data(as_text=True)
    assert field_errors(html, "total") == ["不是有效的整数。"]  # WTForms' own, in Chinese
    assert field_errors(html, "product_ids") == ["ID 须为整数，用逗号或空格分隔；无效：x"]
    assert "请修改下方标出的字段。" in html

    now = utcnow()
    refused = post_form(
        owner,
        COUPONS,
        COUPONS,
        **coupon_form(
            name=" ",
            pay_rate_bp="8.5",  # and the amount off: one or the other
            claim_starts_at=local(now + timedelta(days=2)),
            claim_ends_at=local(now + timedelta(days=1)),
            validity="dates",
            valid_from=local(now + timedelta(days=3)),
            valid_until=local(now + timedelta(days=3)),
            product_ids="999999",
        ),
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert field_errors(html, "product_ids") == ["ID 不存在：999999"]
    refused = post_form(
        owner,
        COUPONS,
        COUPONS,
        **coupon_form(
            name=" ",
            pay_rate_bp="8.5",
            claim_starts_at=local(now + timedelta(days=2)),
            claim_ends_at=local(now + timedelta(days=1)),
            validity="dates",
            valid_from=local(now + timedelta(days=3)),
            valid_until=local(now + timedelta(days=3)),
        ),
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert field_errors(html, "name") == ["请填写优惠券名称，最多 64 个字符。"]
    assert field_errors(html, "off_fen") == ["请设置减免金额或折扣率其中之一。"]
    assert field_errors(html, "claim_ends_at") == ["领取结束时间必须晚于开始时间。"]
    assert field_errors(html, "valid_until") == ["有效期结束时间必须晚于开始时间。"]
    assert "<span>优惠券总数</span>" in html
    with app.app_context():
        assert db.session.query(CouponTemplate).count() == 0
    assert not audit_entries(app, "coupon_template.create")


def test_a_paused_coupon_cannot_be_claimed_and_resumes(client: FlaskClient, app: Flask) -> None:
    template_id = make_template(app)
    operator = staff_client(app, "operator")
    page = f"{COUPONS}/{template_id}"
    paused = post_form(operator, page, f"{page}/status", action="pause")
    assert paused.status_code == 303
    shopper = login(client, "panel-paused-shopper")
    refused = claim(client, shopper, template_id)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "claim_closed"
    html = operator.get(page).get_data(as_text=True)
    assert "The coupon is now paused." in flashes(html)
    assert "Resume claiming" in html and "Pause claiming" not in html
    (entry,) = audit_entries(app, "coupon_template.pause")
    assert (json.loads(entry.before_json), json.loads(entry.after_json)) == (
        {"status": "active"},
        {"status": "paused"},
    )
    assert post_form(operator, page, f"{page}/status", action="resume").status_code == 303
    assert claim(client, shopper, template_id).status_code == 201
    assert post_form(operator, page, f"{page}/status", action="end").status_code == 303
    html = operator.get(page).get_data(as_text=True)
    assert "Resume claiming" not in html and "Only an active coupon can be issued." in html
    assert [e.action for e in audit_entries(app, "coupon_template.end")] == ["coupon_template.end"]


def test_staff_issue_a_coupon_to_a_list_of_users(client: FlaskClient, app: Flask) -> None:
    template_id = make_template(app, per_user_limit=1)
    users = []
    for code in ("issue-a", "issue-b"):
        login(client, code)
        with app.app_context():
            from wxdist.models import User

            users.append(db.session.query(User.id).order_by(User.id.desc()).first()[0])
    owner = chinese(staff_client(app, "owner"))
    page = f"{COUPONS}/{template_id}"
    sent = post_form(
        owner, page, f"{page}/issue", user_ids=f"{users[0]}, {users[1]}\n987654321 {users[0]}"
    )
    assert sent.status_code == 303
    html = owner.get(page).get_data(as_text=True)
    assert flashes(html) == ["已向 3 位用户中的 2 位发放。", "1 位未发放（用户不存在）：987654321"]
    assert "<dt>已发放 / 总数</dt><dd>2 / 100</dd>" in html
    (entry,) = audit_entries(app, "coupon_template.issue")
    assert json.loads(entry.after_json) == {
        "asked": 3,
        "issued": 2,
        "new": 2,
        "refused": 1,
        "reasons": {"no_such_user": 1},
    }
    again = post_form(owner, page, f"{page}/issue", user_ids=str(users[0]))
    assert again.status_code == 303
    html = owner.get(page).get_data(as_text=True)
    assert "其中 1 位此前已领到这张优惠券。" in html
    assert "<dt>已发放 / 总数</dt><dd>2 / 100</dd>" in html
    bad = post_form(owner, page, f"{page}/issue", user_ids="12 abc")
    assert bad.status_code == 400
    assert "abc" in field_errors(bad.get_data(as_text=True), "user_ids")[0]


def test_a_limited_time_discount_lowers_the_api_price_and_overlaps_are_refused(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, price_fen=9_900)
    now = utcnow()
    owner = chinese(staff_client(app, "owner"))
    form = {
        "name": "双十二",
        "sku_id": str(product["sku_id"]),
        "price_fen": "69",
        "starts_at": local(now - timedelta(hours=1)),
        "ends_at": local(now + timedelta(days=1)),
    }
    created = post_form(owner, PROMOTIONS, f"{PROMOTIONS}/discounts", **form)
    assert created.status_code == 303, created.get_data(as_text=True)[:2000]
    detail = client.get(f"/api/v1/products/{product['product_id']}").get_json()
    assert detail["skus"][0]["promo_price_fen"] == 6_900

    clash = post_form(
        owner,
        PROMOTIONS,
        f"{PROMOTIONS}/discounts",
        **{**form, "price_fen": "", "pay_rate_bp": "8"},
    )
    assert clash.status_code == 409
    html = clash.get_data(as_text=True)
    assert field_errors(html, "sku_id") == ["该 SKU 在这段时间内已有限时折扣。"]

    html = owner.get(PROMOTIONS).get_data(as_text=True)
    with app.app_context():
        record_id = db.session.query(TimedDiscountRecord.id).one()[0]
    line = row(html, f"discount-{record_id}")
    assert "¥69.00" in line and "启用" in line and "¥99.00" in line
    ended = post_form(owner, PROMOTIONS, f"{PROMOTIONS}/discounts/{record_id}/end", action="end")
    assert ended.status_code == 303
    detail = client.get(f"/api/v1/products/{product['product_id']}").get_json()
    assert detail["skus"][0]["promo_price_fen"] is None
    assert "已结束" in row(owner.get(PROMOTIONS).get_data(as_text=True), f"discount-{record_id}")
    assert len(audit_entries(app, "timed_discount.create")) == 1
    assert len(audit_entries(app, "timed_discount.end")) == 1


def test_a_full_reduction_comes_off_the_order_preview_until_it_is_ended(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, price_fen=6_000)
    now = utcnow()
    operator = staff_client(app, "operator")
    form = {
        "name": "满100减10",
        "by_count": "amount",
        "tiers-0-threshold": "100",
        "tiers-0-off_fen": "10",
        "tiers-1-threshold": "200",
        "tiers-1-pay_rate_bp": "9",
        "product_ids": str(product["product_id"]),
        "starts_at": local(now - timedelta(hours=1)),
        "ends_at": local(now + timedelta(days=1)),
    }
    created = post_form(operator, PROMOTIONS, f"{PROMOTIONS}/reductions", **form)
    assert created.status_code == 303, created.get_data(as_text=True)[:2000]
    with app.app_context():
        record = db.session.query(FullReductionRecord).one()
        assert record.tiers == [
            {"threshold": 10_000, "off_fen": 1_000},
            {"threshold": 20_000, "pay_rate_bp": 9_000},
        ]
        assert record.scope == {"product_ids": [product["product_id"]]}
        record_id = record.id
    line = row(operator.get(PROMOTIONS).get_data(as_text=True), f"reduction-{record_id}")
    assert "¥100.00 or more: ¥10.00 off" in line and "¥200.00 or more: 9/10 of the price" in line

    shopper = login(client, "panel-reduction-shopper")
    body = {"items": [{"sku_id": product["sku_id"], "quantity": 2}]}
    preview = client.post("/api/v1/orders/preview", json=body, headers=shopper).get_json()
    assert (preview["reduction_fen"], preview["payable_fen"]) == (1_000, 11_000)

    page = PROMOTIONS
    ended = post_form(operator, page, f"{PROMOTIONS}/reductions/{record_id}/end", action="end")
    assert ended.status_code == 303
    preview = client.post("/api/v1/orders/preview", json=body, headers=shopper).get_json()
    assert (preview["reduction_fen"], preview["payable_fen"]) == (0, 12_000)
    assert len(audit_entries(app, "full_reduction.create")) == 1
    assert len(audit_entries(app, "full_reduction.end")) == 1

    bad = post_form(
        operator,
        PROMOTIONS,
        f"{PROMOTIONS}/reductions",
        **{**form, "tiers-0-off_fen": "100", "tiers-1-threshold": "三件"},
    )
    assert bad.status_code == 400
    assert field_errors(bad.get_data(as_text=True), "tiers-1-threshold") == ["an amount in yuan"]


def test_operators_open_the_marketing_pages_and_finance_cannot(app: Flask) -> None:
    template_id = make_template(app)
    operator = staff_client(app, "operator")
    finance = staff_client(app, "finance")
    for url in (COUPONS, f"{COUPONS}/{template_id}", PROMOTIONS):
        assert operator.get(url).status_code == 200, url
        assert finance.get(url).status_code == 403, url
    nav = operator.get("/panel/").get_data(as_text=True)
    assert 'href="/panel/marketing/coupons"' in nav
    assert 'href="/panel/marketing/coupons"' not in finance.get("/panel/").get_data(as_text=True)
    page = "/panel/"
    refused = post_form(finance, page, f"{COUPONS}/{template_id}/status", action="end")
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(CouponTemplate, template_id).status == "active"
