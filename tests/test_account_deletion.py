"""Account deletion (账号注销) and the data export, through the API and the panel.

A deletion is refused, with each reason named, while an order, an after-sale or a
withdrawal is open or money is held or owed; it then anonymises the person and keeps the
books: `flask reconcile` stays clean and no personal value of theirs can be read through
any API answer or panel page afterwards.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import itsdangerous
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.aftersale_helpers import apply
from tests.flash_helpers import make_activity
from tests.group_helpers import make_group_activity
from tests.notify_helpers import template
from tests.panel_helpers import post_form, staff_client
from tests.shop import (
    become_distributor,
    centre,
    emulator_pay,
    get_order,
    login,
    make_product,
    pay_order,
    place_order,
    set_settings,
    start_pay,
    storm,
    wait_for_status,
)
from tests.test_coupons import make_template
from tests.test_panel_pages import panel_pages
from tests.test_phone import register_code
from tests.test_withdrawals import clean, fund, wait_for, withdraw
from wxdist.core.extensions import db
from wxdist.distribution import settlement
from wxdist.models import (
    Address,
    AuditEntry,
    CartLine,
    Commission,
    Distributor,
    LedgerEntry,
    Order,
    Referral,
    SubscribeConsent,
    User,
    WechatPushEvent,
    Withdrawal,
)
from wxdist.models.types import utcnow
from wxdist.money import withdrawals
from wxdist.reporting.reconcile import check_all
from wxdist.shop.refunds import request_refund
from wxdist.shop.shipments import ship_whole_order


def blocked_by(client: FlaskClient, headers: dict[str, str]) -> set[str]:
    """The reasons the deletion request names (empty: it was granted)."""
    response = client.post("/api/v1/me/deletion/request", headers=headers)
    if response.status_code == 200:
        assert response.get_json()["confirm"] and response.get_json()["expires_in"] > 0
        return set()
    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "deletion_blocked" and error["fields"], error
    return set(error["fields"])


def confirmation(client: FlaskClient, headers: dict[str, str]) -> str:
    response = client.post("/api/v1/me/deletion/request", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["confirm"]


def receive(client: FlaskClient, app: Flask, headers: dict[str, str], order_id: int) -> None:
    with app.app_context():
        ship_whole_order(order_id, "SF", "SF1")
    response = client.post(f"/api/v1/orders/{order_id}/confirm-receipt", headers=headers)
    assert response.status_code == 200, response.get_json()


def test_a_shopper_is_refused_while_an_order_or_an_after_sale_is_open(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    headers = login(client, "del-shopper")
    product = make_product(app, price_fen=2500, stock=50)
    unpaid = place_order(client, headers, product["sku_id"])
    assert blocked_by(client, headers) == {"order_unpaid"}
    assert client.post(f"/api/v1/orders/{unpaid['id']}/cancel", headers=headers).status_code == 200
    assert blocked_by(client, headers) == set()

    paid = pay_order(client, emulator.url, headers, product["sku_id"], 2)
    assert blocked_by(client, headers) == {"order_open"}
    receive(client, app, headers, paid["id"])
    confirm = confirmation(client, headers)  # granted before the after-sale opens
    sale = apply(client, {"headers": headers, "item_id": paid["items"][0]["id"]})
    assert sale.status_code == 201, sale.get_json()
    assert blocked_by(client, headers) == {"aftersale_open"}
    late = client.post("/api/v1/me/deletion", json={"confirm": confirm}, headers=headers)
    assert late.status_code == 409
    assert set(late.get_json()["error"]["fields"]) == {"aftersale_open"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # still there

    cancelled = client.post(f"/api/v1/aftersales/{sale.get_json()['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    done = client.post("/api/v1/me/deletion", json={"confirm": confirm}, headers=headers)
    assert done.status_code == 200 and done.get_json() == {"deleted": True}


def test_a_distributor_is_refused_while_money_is_held_owed_or_being_withdrawn(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    d = fund(client, app, emulator, run_jobs, "del-money", 3000)
    assert blocked_by(client, d["headers"]) == {"balance_held"}
    w = withdraw(
        client, d, 3000, "alipay", alipay_login="qianduoduo@example.com", real_name="钱多多"
    ).get_json()
    assert blocked_by(client, d["headers"]) == {"withdrawal_open", "balance_held"}
    with app.app_context():
        withdrawals.approve(w["id"])
    run_jobs()
    wait_for(client, d, w["id"], "paid")
    assert blocked_by(client, d["headers"]) == set()

    buyer = login(client, "del-money-buyer")
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.user_id != d["user_id"]))
        request_refund(order_id, 10_000, "退一部分")
    wait_for_status(client, buyer, order_id, "completed")  # the refund notify arrived
    run_jobs()
    assert centre(client, d["headers"])["balances"]["available_fen"] == -1000  # a debt
    assert blocked_by(client, d["headers"]) == {"balance_owed"}
    with app.app_context():
        assert check_all() == []


def test_a_confirmation_is_the_accounts_own_and_expires(client: FlaskClient, app: Flask) -> None:
    mine, theirs = login(client, "del-conf-a"), login(client, "del-conf-b")
    other = confirmation(client, theirs)
    for confirm in (other, "forged", "x" * 300):
        response = client.post("/api/v1/me/deletion", json={"confirm": confirm}, headers=mine)
        assert response.status_code == 400, confirm
        assert response.get_json()["error"]["code"] == "invalid_confirmation"
        assert "confirm" in response.get_json()["error"]["fields"]
    missing = client.post("/api/v1/me/deletion", json={}, headers=mine)
    assert missing.status_code == 400 and "confirm" in missing.get_json()["error"]["fields"]
    from wxdist.accounts import deletion

    class SignedLongAgo(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - deletion.CONFIRM_SECONDS - 5

    with app.app_context():
        user_id = client.get("/api/v1/me", headers=mine).get_json()["id"]
        version = db.session.get(User, user_id).token_version
    old = itsdangerous.URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt=deletion.CONFIRM_SALT, signer=SignedLongAgo
    ).dumps({"uid": user_id, "v": version})
    expired = client.post("/api/v1/me/deletion", json={"confirm": old}, headers=mine)
    assert expired.status_code == 400
    assert client.get("/api/v1/me", headers=mine).status_code == 200


ADDRESS = {
    "name": "王大锤",
    "phone": "13633334444",
    "region": "北京市 朝阳区",
    "detail": "建国路 88 号 3 单元",
}
NICKNAME, AVATAR = "老王的昵称", "https://img.example/wang-avatar.png"
PHONE, APPLIED_PHONE, ALIPAY = "13812345678", "13711112222", "wangdachui@example.com"
COMPLAINT = "快递员态度差要投诉"
HOME = "南山区科技园科苑路 15 号 3 栋"  # a street in the address book, not on any order


def _a_distributor_with_a_team_and_history(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> dict[str, Any]:
    """T: phone bound, an own completed order with a closed after-sale, a team (M, and B
    under M) whose purchase earned T level-2 commission, settled and withdrawn to Alipay."""
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500, freeze_days=0)
    login(client, "del-top", nickname=NICKNAME, avatar_url=AVATAR)
    top = become_distributor(client, "del-top", real_name="王大锤", phone=APPLIED_PHONE)
    register_code(emulator, "del-phone", PHONE)
    bound = client.post("/api/v1/me/phone", json={"code": "del-phone"}, headers=top["headers"])
    assert bound.status_code == 200
    consent = {template(app, "commission_settled"): "accept"}
    subscribed = client.post("/api/v1/me/subscriptions", json=consent, headers=top["headers"])
    assert subscribed.status_code == 200, subscribed.get_json()

    product = make_product(app, price_fen=10_000, stock=50)
    own = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": product["sku_id"], "quantity": 1}], "address": ADDRESS},
        headers=top["headers"],
    ).get_json()
    pay = start_pay(client, top["headers"], own["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    wait_for_status(client, top["headers"], own["id"], "paid")
    with app.app_context():
        openid = db.session.get(User, top["user_id"]).openid
    remind = {
        "Event": "trade_manage_remind_shipping",
        "merchant_trade_no": pay["out_trade_no"],
        "FromUserName": openid,
    }
    pushed = requests.post(
        f"{emulator.url}/_emulator/wechat/message-push",
        json={"url": f"{app.config['LIVE_URL']}/notify/wechat/message", "message": remind},
        timeout=20,
    )
    assert pushed.json()["body"] == "success"
    receive(client, app, top["headers"], own["id"])
    home = {"name": "王大锤", "phone": ADDRESS["phone"], "region_code": "440305", "detail": HOME}
    assert client.post("/api/v1/me/addresses", json=home, headers=top["headers"]).status_code == 201
    in_cart = {"sku_id": product["sku_id"], "quantity": 2}
    assert client.post("/api/v1/cart/lines", json=in_cart, headers=top["headers"]).status_code < 300
    item_id = get_order(client, top["headers"], own["id"])["items"][0]["id"]
    sale = apply(client, {"headers": top["headers"], "item_id": item_id}, description=COMPLAINT)
    client.post(f"/api/v1/aftersales/{sale.get_json()['id']}/cancel", headers=top["headers"])

    login(client, "del-mid", scene=top["centre"]["scene"])
    mid = become_distributor(client, "del-mid")
    buyer = login(client, "del-buyer", scene=mid["centre"]["scene"])
    bought = pay_order(client, emulator.url, buyer, product["sku_id"])
    run_jobs()
    receive(client, app, buyer, bought["id"])
    with app.app_context():
        settlement.settle_due(utcnow() + timedelta(seconds=1))
    assert centre(client, top["headers"])["balances"]["available_fen"] == 500
    w = withdraw(client, top, 500, "alipay", alipay_login=ALIPAY, real_name="王大锤").get_json()
    with app.app_context():
        withdrawals.approve(w["id"])
    run_jobs()
    wait_for(client, top, w["id"], "paid")
    return {
        "top": top,
        "mid": mid,
        "buyer": buyer,
        "own_order": own["id"],
        "bought": bought["id"],
        "aftersale_id": sale.get_json()["id"],
        "withdrawal_id": w["id"],
        "product_id": product["product_id"],
        "sku_id": product["sku_id"],
    }


def _api_answers(client: FlaskClient, world: dict[str, Any], fresh: dict[str, str]) -> list[str]:
    mid, buyer = world["mid"]["headers"], world["buyer"]
    urls = [
        (mid, "/api/v1/me"),
        (mid, "/api/v1/distributor"),
        (mid, "/api/v1/distributor/team?depth=1"),
        (mid, "/api/v1/distributor/orders"),
        (mid, "/api/v1/distributor/commissions"),
        (mid, "/api/v1/me/export"),
        (buyer, "/api/v1/orders"),
        (buyer, f"/api/v1/orders/{world['bought']}"),
        (buyer, "/api/v1/me/export"),
        (fresh, "/api/v1/me"),
        (fresh, "/api/v1/me/export"),
        (fresh, "/api/v1/orders"),
        (fresh, "/api/v1/distributor/withdrawals"),
    ]
    answers = []
    for headers, url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code in (200, 403), (url, response.status_code)
        answers.append(response.get_data(as_text=True))
    return answers


def test_a_distributor_with_a_team_is_deleted_and_the_books_stay_whole(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    world = _a_distributor_with_a_team_and_history(client, app, emulator, run_jobs)
    top = world["top"]
    export = client.get("/api/v1/me/export", headers=top["headers"]).get_json()
    assert {"profile", "orders", "commissions", "withdrawals", "referrals", "coupons"} <= set(
        export
    ) and "subscribe_consents" in export
    assert export["profile"]["phone"] == PHONE and export["profile"]["nickname"] == NICKNAME
    assert export["orders"][0]["items"][0]["quantity"] == 1
    assert [c["amount_fen"] for c in export["commissions"]] == [500]
    assert export["withdrawals"][0]["account"] == "支付宝 wa***@example.com"
    assert ALIPAY not in str(export)
    assert [c["template_id"] for c in export["subscribe_consents"]] == [
        template(app, "commission_settled")
    ]
    assert export["referrals"]["direct_team"] == 1 and export["referrals"]["referrer_id"] is None
    assert [line["quantity"] for line in export["cart"]] == [2]
    assert [a["detail"] for a in export["addresses"]] == [HOME]
    with app.app_context():
        user = db.session.get(User, top["user_id"])
        secrets = [user.openid, user.unionid, NICKNAME, AVATAR, PHONE, APPLIED_PHONE, "王大锤"]
        secrets += [ALIPAY, "wa***@example.com", ADDRESS["phone"], ADDRESS["detail"], COMPLAINT]
        secrets += [HOME]
        books = {
            "ledger": db.session.scalar(select(func.count()).select_from(LedgerEntry)),
            "commissions": db.session.scalar(select(func.count()).select_from(Commission)),
            "orders": db.session.scalar(select(func.count()).select_from(Order)),
        }

    staff = staff_client(app, "owner")
    before = staff.get(f"/panel/distributors/{top['user_id']}").get_data(as_text=True)
    assert "王大锤" in before and APPLIED_PHONE in before and "138****5678" in before
    order_page = staff.get(f"/panel/orders/{world['own_order']}").get_data(as_text=True)
    assert ADDRESS["detail"] in order_page  # what the walk below must no longer find

    done = client.post(
        "/api/v1/me/deletion",
        json={"confirm": confirmation(client, top["headers"])},
        headers=top["headers"],
    )
    assert done.status_code == 200, done.get_json()
    assert client.get("/api/v1/me", headers=top["headers"]).status_code == 401
    with app.app_context():
        assert check_all() == []
        user = db.session.get(User, top["user_id"])
        assert user.openid.startswith("deleted:") and user.deleted_at is not None
        cart = select(CartLine).where(CartLine.user_id == top["user_id"])
        assert db.session.scalars(cart).all() == []
        book = select(Address).where(Address.user_id == top["user_id"])
        assert db.session.scalars(book).all() == []
        assert (user.unionid, user.nickname, user.avatar_url, user.phone) == (None, "", "", None)
        assert db.session.get(Distributor, top["user_id"]).status == "disabled"
        mid = db.session.get(Referral, world["mid"]["user_id"])
        assert (mid.parent_id, mid.path, mid.depth) == (None, "/", 0)
        buyer = db.session.scalar(select(Referral).where(Referral.parent_id == mid.user_id))
        assert (buyer.grandparent_id, buyer.path, buyer.depth) == (None, f"/{mid.user_id}/", 1)
        own = db.session.get(Order, world["own_order"])
        assert (own.receiver_name, own.receiver_phone, own.receiver_detail) == (
            "王**",
            "136****4444",
            "",
        )
        assert own.receiver_region == ADDRESS["region"] and own.paid_fen == 10_000
        assert db.session.get(Withdrawal, world["withdrawal_id"]).account_encrypted == ""
        pushes = db.session.scalars(select(WechatPushEvent.payload)).all()
        assert len(pushes) == 1 and secrets[0] not in str(pushes)
        assert pushes[0]["merchant_trade_no"]  # the facts stay
        consents = select(func.count()).where(SubscribeConsent.user_id == top["user_id"])
        assert db.session.scalar(consents) == 0
        assert books == {
            "ledger": db.session.scalar(select(func.count()).select_from(LedgerEntry)),
            "commissions": db.session.scalar(select(func.count()).select_from(Commission)),
            "orders": db.session.scalar(select(func.count()).select_from(Order)),
        }
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.delete"))
        assert (entry.target_type, entry.target_id) == ("user", str(top["user_id"]))
        assert not any(s in entry.before_json + entry.after_json for s in secrets)
    clean(app)

    again = client.post("/api/v1/auth/login", json={"code": "del-top"})
    assert again.status_code == 201 and again.get_json()["user"]["id"] != top["user_id"]
    fresh = {"Authorization": f"Bearer {again.get_json()['token']}"}
    assert client.get("/api/v1/me/export", headers=fresh).get_json()["orders"] == []

    ids = {
        "user_id": top["user_id"],
        "order_id": world["own_order"],
        "withdrawal_id": world["withdrawal_id"],
        "aftersale_id": world["aftersale_id"],
        "product_id": world["product_id"],
        "template_id": make_template(app),
        "material_id": _material(app, world["product_id"]),
        "shipping_template_id": _shipping_template(app),
        "campaign_id": _campaign(app),
        "activity_id": make_activity(app, world["sku_id"])["activity_id"],
        "group_activity_id": make_group_activity(app, world["sku_id"])["activity_id"],
        "endpoint_id": _webhook_endpoint(app),
        "key_pk": _api_key(app),
    }
    urls = [url for _endpoint, url, _area in panel_pages(app, ids)]
    urls += [f"/panel/distributors/{world['mid']['user_id']}", f"/panel/orders/{world['bought']}"]
    html = []
    for url in urls:  # each read at once: CSV exports stream
        page = staff.get(url)
        assert page.status_code == 200, url
        html.append(page.get_data(as_text=True))
    answers = _api_answers(client, world, fresh)
    everything = html + answers[:-4]
    for secret in secrets:
        assert not any(secret in text for text in everything), secret
    for secret in secrets[2:]:  # the new account is the same WeChat user: same openid
        assert not any(secret in text for text in answers[-4:]), secret
    detail = staff.get(f"/panel/distributors/{top['user_id']}").get_data(as_text=True)
    assert "Account deleted" in detail
    order_page = staff.get(f"/panel/orders/{world['own_order']}").get_data(as_text=True)
    assert "Account deleted" in order_page and "王**" in order_page
    enable = post_form(
        staff,
        f"/panel/distributors/{top['user_id']}",
        f"/panel/distributors/{top['user_id']}/status",
        action="enable",
    )
    assert enable.status_code == 409
    with app.app_context():
        assert db.session.get(Distributor, top["user_id"]).status == "disabled"
    audit = staff.get("/panel/audit").get_data(as_text=True)
    assert "customer deleted their account" in audit


def test_a_confirmation_sent_twice_at_once_deletes_once(client: FlaskClient, app: Flask) -> None:
    """Against the live server, two threads: the user row is locked, so the second finds
    the account already deleted and is refused; one tombstone, one audit entry."""
    headers = login(client, "del-twice")
    confirm = confirmation(client, headers)
    url = f"{app.config['LIVE_URL']}/api/v1/me/deletion"

    def send(_i: int) -> int:
        with requests.Session() as http:
            return http.post(
                url, json={"confirm": confirm}, headers=headers, timeout=60
            ).status_code

    assert sorted(storm(2, send)) == [200, 400]
    with app.app_context():
        entries = select(func.count()).where(AuditEntry.action == "account.delete")
        assert db.session.scalar(entries) == 1
        tombstones = select(func.count()).where(User.openid.startswith("deleted:"))
        assert db.session.scalar(tombstones) == 1


def _material(app: Flask, product_id: int) -> int:
    """A published promotion material of the product (the panel walk shows its page)."""
    from wxdist.sharing import materials

    with app.app_context():
        return materials.create_material(
            materials.MaterialInput("文案", "好物推荐", product_id, "双十二", published=True)
        ).id


def _campaign(app: Flask) -> int:
    """An incentive campaign (the walk shows its leaderboard, where the deleted person
    must not be named)."""
    from wxdist.incentives import campaigns

    with app.app_context():
        start = utcnow() - timedelta(days=1)
        return campaigns.create(
            campaigns.CampaignIn(
                "月度冲刺",
                "boost",
                start,
                start + timedelta(days=7),
                rate_bp=500,
                budget_fen=10_000,
            )
        ).id


def _shipping_template(app: Flask) -> int:
    """A shipping template (the panel walk shows its page)."""
    from wxdist.shop import shipping_templates as st

    with app.app_context():
        saved = st.save_template(st.TemplateSpec("快递", False, st.RateSpec(1, 800, 1, 300), []))
        db.session.commit()
        return saved.id


def _webhook_endpoint(app: Flask) -> int:
    with app.app_context():
        from wxdist.integrations import endpoints

        return endpoints.create("https://erp.example.com/hooks", ["*"]).endpoint_id


def _api_key(app: Flask) -> int:
    with app.app_context():
        from wxdist.integrations import api_keys

        return api_keys.create("ERP", ["orders:read"], 60, None).key.id
