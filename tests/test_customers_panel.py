"""The customer pages: the list with masked phones and filters, a customer's page in zh and
en, block and unblock through the form (audited, refusing the next order), tags, notes, and
a bulk coupon issue from the list's filter; the finance role is refused."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.panel_helpers import post_form, staff_client
from tests.shop import ADDRESS, become_distributor, login, make_product
from tests.test_coupons import make_template
from wxdist.core.extensions import db
from wxdist.models import AuditEntry, Coupon, CouponAudience, CustomerNote, User


def _me(client: FlaskClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["id"]


def test_staff_block_tag_note_and_issue_coupons_from_the_customer_pages(
    client: FlaskClient, app: Flask, run_jobs
) -> None:
    source = become_distributor(client, "panel-src")
    headers = login(client, "panel-cust", scene=source["centre"]["scene"])
    user_id = _me(client, headers)
    with app.app_context():
        db.session.get(User, user_id).phone = "13812345678"
        db.session.commit()
    staff = staff_client(app, "operator")
    assert staff_client(app, "finance").get("/panel/customers").status_code == 403

    listing = staff.get(f"/panel/customers?source={source['user_id']}").get_data(as_text=True)
    assert f'/panel/customers/{user_id}"' in listing
    assert "138****5678" in listing and "13812345678" not in listing
    for lang in ("zh-CN", "en"):
        page = staff.get(f"/panel/customers/{user_id}", headers={"Accept-Language": lang})
        assert page.status_code == 200
    assert "客户" in staff.get("/panel/customers", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )

    detail = f"/panel/customers/{user_id}"
    refused = post_form(staff, detail, f"{detail}/block", reason="")
    assert refused.status_code == 400
    blocked = post_form(staff, detail, f"{detail}/block", reason="恶意退款")
    assert blocked.status_code == 303
    product = make_product(app, price_fen=1000)
    order = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": product["sku_id"], "quantity": 1}], "address": ADDRESS},
        headers=headers,
    )
    assert order.status_code == 403 and order.get_json()["error"]["code"] == "account_blocked"
    assert "恶意退款" in staff.get(detail).get_data(as_text=True)
    assert post_form(staff, detail, f"{detail}/unblock").status_code == 303
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.target_id == str(user_id))
        ).all()
        assert {"customer.block", "customer.unblock"} <= set(actions)
        assert db.session.get(User, user_id).blocked_at is None

    tags_page = "/panel/customers/tags"
    assert post_form(staff, tags_page, tags_page, name="高价值").status_code == 303
    tag_id = int(
        staff.get(tags_page).get_data(as_text=True).split("/panel/customers?tag=")[1].split('"')[0]
    )
    assert post_form(staff, detail, f"{detail}/tags", tag_ids=[tag_id]).status_code == 303
    assert post_form(staff, detail, f"{detail}/notes", body="喜欢长绒棉").status_code == 303
    tagged = staff.get(f"/panel/customers?tag={tag_id}").get_data(as_text=True)
    assert f'/panel/customers/{user_id}"' in tagged and "高价值" in tagged
    assert "喜欢长绒棉" in staff.get(detail).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerNote)) == 1

    template = make_template(app, name="老客回馈", audience=CouponAudience.STAFF_ISSUED)
    listing_url = f"/panel/customers?tag={tag_id}"
    page = staff.get(listing_url).get_data(as_text=True)
    import re

    fields = dict(
        re.findall(r'name="(request_key|filter_json)" type="hidden" value="([^"]*)"', page)
    )
    if not fields:
        fields = dict(
            re.findall(
                r'id="(request_key|filter_json)" name="\1" type="hidden" value="([^"]*)"', page
            )
        )
    assert set(fields) == {"request_key", "filter_json"}, fields
    import html as html_lib

    data = {k: html_lib.unescape(v) for k, v in fields.items()}
    done = post_form(staff, listing_url, "/panel/customers/bulk", template_id=template, **data)
    assert done.status_code == 303
    again = post_form(staff, listing_url, "/panel/customers/bulk", template_id=template, **data)
    assert again.status_code == 303
    run_jobs()
    results = staff.get("/panel/customers/bulk").get_data(as_text=True)
    assert "老客回馈" in results
    with app.app_context():
        held = db.session.scalars(select(Coupon.user_id).where(Coupon.template_id == template))
        assert list(held) == [user_id]
