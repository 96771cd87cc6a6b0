"""Every distribution setting, each shown through the HTTP API a shopper or distributor uses.

Settings are changed through the settings service (what the panel and `flask settings set`
call); what they do is observed through /api/v1.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.shop import (
    become_distributor,
    centre,
    get_order,
    login,
    make_product,
    pay_order,
    set_settings,
)
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.distribution import settlement
from wxdist.distribution.settings import get_settings, update_settings
from wxdist.models import Product, Referral, User
from wxdist.models.types import utcnow
from wxdist.shop.shipments import ship_whole_order


def _bind(client: FlaskClient, headers: dict[str, str], scene: str) -> dict[str, Any]:
    response = client.post("/api/v1/referral/bind", json={"scene": scene}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _buyer(client: FlaskClient, code: str, scene: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code}
    if scene:
        body["scene"] = scene
    data = client.post("/api/v1/auth/login", json=body).get_json()
    return {
        "headers": {"Authorization": f"Bearer {data['token']}"},
        "user_id": data["user"]["id"],
        "referral": data["referral"],
    }


def _frozen(client: FlaskClient, who: dict[str, Any]) -> int:
    return centre(client, who["headers"])["balances"]["frozen_fen"]


def _complete(client: FlaskClient, app: Flask, buyer: dict[str, Any], order_id: int) -> None:
    with app.app_context():
        ship_whole_order(order_id, "ZTO", "ZT1")
    done = client.post(f"/api/v1/orders/{order_id}/confirm-receipt", headers=buyer["headers"])
    assert done.status_code == 200


# ---- the settings record ---------------------------------------------------------------


def test_defaults_and_validation_naming_each_field(app: Flask) -> None:
    with app.app_context():
        settings = get_settings()
        assert (settings.depth, settings.binding_mode, settings.enabled) == (2, "permanent", True)
        cases = {
            "depth": 3,
            "level1_rate_bp": 10_001,
            "binding_mode": "forever",
            "binding_scope": "everybody",
            "distributor_mode": "vip",
            "freeze_days": -1,
            "enabled": "yes",
            "colour": "red",
        }
        for name, value in cases.items():
            with pytest.raises(ApiError) as refused:
                update_settings(**{name: value})
            assert name in refused.value.fields, name
        with pytest.raises(ApiError) as too_much:
            update_settings(level1_rate_bp=8000, level2_rate_bp=3000)
        assert "level2_rate_bp" in too_much.value.fields
        assert get_settings() == settings  # nothing half-written


def test_depth_three_is_refused_with_the_reason(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["settings", "set", "depth=3"])
    assert result.exit_code != 0
    assert "禁止传销" in result.output  # the CLI speaks zh_CN, the default language
    ok = app.test_cli_runner().invoke(args=["settings", "set", "depth=1", "level1_rate_bp=1200"])
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        assert (get_settings().depth, get_settings().level1_rate_bp) == (1, 1200)


# ---- programme on/off ------------------------------------------------------------------


def test_programme_off_refuses_applications_binds_and_commission(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    distributor = become_distributor(client, "d-off")
    set_settings(app, enabled=False)
    buyer = _buyer(client, "b-off", distributor["centre"]["scene"])
    assert buyer["referral"] == {"bound": False, "reason": "programme_off", "referrer_id": None}
    applicant = login(client, "a-off")
    refused = client.post(
        "/api/v1/distributor/application",
        json={"real_name": "赵六", "phone": "13600136000"},
        headers=applicant,
    )
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "programme_off"

    set_settings(app, enabled=True)
    assert _bind(client, buyer["headers"], distributor["centre"]["scene"])["bound"] is True
    set_settings(app, enabled=False)
    product = make_product(app, price_fen=10_000)
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    assert _frozen(client, distributor) == 0


# ---- who may be a distributor ----------------------------------------------------------


def test_everyone_mode_approves_at_once(client: FlaskClient, app: Flask) -> None:
    set_settings(app, distributor_mode="everyone")
    me = become_distributor(client, "anyone")
    assert me["centre"]["status"] == "approved" and me["centre"]["scene"]


def test_spend_mode_waits_for_the_spend_then_promotes_by_itself(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, distributor_mode="spend", distributor_min_spend_fen=5000)
    buyer = _buyer(client, "spender")
    early = client.post(
        "/api/v1/distributor/application",
        json={"real_name": "钱七", "phone": "13500135000"},
        headers=buyer["headers"],
    )
    assert early.status_code == 400 and "spend" in early.get_json()["error"]["fields"]
    product = make_product(app, price_fen=3000)
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    assert centre(client, buyer["headers"])["status"] == "none"  # 3000 < 5000
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    assert centre(client, buyer["headers"])["status"] == "approved"  # 6000 >= 5000


def test_applications_reviewed_automatically_or_by_hand(client: FlaskClient, app: Flask) -> None:
    set_settings(app, distributor_mode="application", application_review="auto")
    assert become_distributor(client, "auto-1")["centre"]["status"] == "approved"

    set_settings(app, application_review="manual")
    pending = become_distributor(client, "manual-1")
    assert pending["centre"]["status"] == "pending" and pending["centre"]["scene"] is None
    again = client.post(
        "/api/v1/distributor/application",
        json={"real_name": "孙八", "phone": "13400134000"},
        headers=pending["headers"],
    )
    assert again.status_code == 409
    runner = app.test_cli_runner()
    no_reason = runner.invoke(args=["distributor", "review", str(pending["user_id"]), "--reject"])
    assert no_reason.exit_code != 0 and "拒绝时须填写原因" in no_reason.output  # zh_CN CLI
    rejected = runner.invoke(
        args=["distributor", "review", str(pending["user_id"]), "--reject", "--note", "资料不全"]
    )
    assert rejected.exit_code == 0
    view = centre(client, pending["headers"])
    assert view["status"] == "rejected" and view["review_note"] == "资料不全"

    other = become_distributor(client, "manual-2")
    approved = runner.invoke(args=["distributor", "review", str(other["user_id"]), "--approve"])
    assert approved.exit_code == 0
    assert centre(client, other["headers"])["status"] == "approved"


# ---- depth and rates -------------------------------------------------------------------


def _chain(client: FlaskClient, prefix: str) -> tuple[dict, dict, dict]:
    """top ← mid ← buyer, both referrers approved distributors."""
    top = become_distributor(client, f"{prefix}-top")
    _buyer(client, f"{prefix}-mid", top["centre"]["scene"])
    mid = become_distributor(client, f"{prefix}-mid")
    buyer = _buyer(client, f"{prefix}-buyer", mid["centre"]["scene"])
    assert buyer["referral"]["bound"] is True
    return top, mid, buyer


@pytest.mark.parametrize(("depth", "expected_top"), [(2, 500), (1, 0)])
def test_depth_and_default_rates(
    depth: int,
    expected_top: int,
    client: FlaskClient,
    app: Flask,
    emulator: EmulatorServer,
    run_jobs,
) -> None:
    set_settings(app, depth=depth, level1_rate_bp=1000, level2_rate_bp=500)
    top, mid, buyer = _chain(client, f"depth{depth}")
    product = make_product(app, price_fen=9_999)
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"], quantity=1)
    run_jobs()
    assert _frozen(client, mid) == 1000  # 9999 x 10 % = 999.9 → 1000 (half down only at .5)
    assert _frozen(client, top) == (500 if depth == 2 else 0)  # 499.95 → 500


def test_rounding_is_half_down_to_the_fen(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=2500, level2_rate_bp=0)
    _, mid, buyer = _chain(client, "round")
    product = make_product(app, price_fen=2)  # 2 x 25 % = 0.5 fen → 0
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    product2 = make_product(app, price_fen=6)  # 6 x 25 % = 1.5 fen → 1
    pay_order(client, emulator.url, buyer["headers"], product2["sku_id"])
    run_jobs()
    assert _frozen(client, mid) == 1


def test_product_rate_beats_level_rate_beats_default(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500)
    top, mid, buyer = _chain(client, "rates")
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=["level", "add", "--name", "金牌", "--rank", "10", "--l1-bp", "2000", "--l2-bp", "800"]
    )
    assert added.exit_code == 0, added.output
    level_id = int(added.output.split()[1].rstrip(":"))
    assert runner.invoke(args=["level", "grant", str(mid["user_id"]), str(level_id)]).exit_code == 0
    plain = make_product(app, price_fen=10_000)
    special = make_product(app, price_fen=10_000)
    with app.app_context():
        product = db.session.get(Product, special["product_id"])
        product.commission_l1_bp, product.commission_l2_bp = 3000, 100
        db.session.commit()
    pay_order(client, emulator.url, buyer["headers"], plain["sku_id"])
    run_jobs()
    assert _frozen(client, mid) == 2000  # the level's 20 %
    assert _frozen(client, top) == 500  # top has no level: default 5 %
    pay_order(client, emulator.url, buyer["headers"], special["sku_id"])
    run_jobs()
    assert _frozen(client, mid) == 2000 + 3000  # the product's own 30 %
    assert _frozen(client, top) == 500 + 100
    records = client.get("/api/v1/distributor/commissions", headers=mid["headers"]).get_json()
    assert {(r["rate_bp"], r["amount_fen"]) for r in records["items"]} == {
        (2000, 2000),
        (3000, 3000),
    }
    assert all(r["buyer"].count("*") >= 1 for r in records["items"])


# ---- levels ------------------------------------------------------------------------------


def test_levels_upgrade_on_settlement_any_or_all_and_never_go_down(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0, freeze_days=0)
    from wxdist.distribution.distributors import LevelSpec, create_level

    with app.app_context():
        silver = create_level(
            LevelSpec("银牌", 1, 1200, 0, min_settled_commission_fen=1000, min_direct_invites=50)
        ).id
        gold = create_level(
            LevelSpec(
                "金牌",
                2,
                1500,
                0,
                min_settled_commission_fen=1000,
                min_direct_invites=50,
                condition_mode="all",
            )
        ).id
    _, mid, buyer = _chain(client, "lvl")
    product = make_product(app, price_fen=10_000)
    order = pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    assert centre(client, mid["headers"])["level"] is None  # nothing settled yet
    _complete(client, app, buyer, order["id"])
    with app.app_context():
        assert settlement.settle_due(utcnow() + timedelta(seconds=1)) == 1
    level = centre(client, mid["headers"])["level"]
    assert level["id"] == silver  # any-of: 1000 settled is enough; gold needs 50 invites too
    assert level["id"] != gold

    from wxdist.shop.refunds import request_refund

    with app.app_context():
        request_refund(order["id"], 10_000, "退货")  # claws the settled commission back
    run_jobs()
    from tests.shop import wait_for_status

    wait_for_status(client, buyer["headers"], order["id"], "refunded")
    run_jobs()
    view = centre(client, mid["headers"])
    assert view["balances"]["available_fen"] == 0 and view["lifetime_earned_fen"] == 0
    assert view["level"]["id"] == silver  # levels never go down by themselves


# ---- binding mode and scope --------------------------------------------------------------


def test_permanent_binding_keeps_the_first_referrer(client: FlaskClient, app: Flask) -> None:
    set_settings(app, binding_mode="permanent")
    first = become_distributor(client, "perm-1")
    second = become_distributor(client, "perm-2")
    buyer = _buyer(client, "perm-b", first["centre"]["scene"])
    assert buyer["referral"]["reason"] == "bound"
    again = _bind(client, buyer["headers"], second["centre"]["scene"])
    assert again == {"bound": False, "reason": "already_bound", "referrer_id": first["user_id"]}
    with app.app_context():  # even long after, permanent never lapses
        db.session.get(Referral, buyer["user_id"]).bound_at = utcnow() - timedelta(days=999)
        db.session.commit()
    assert _bind(client, buyer["headers"], second["centre"]["scene"])["bound"] is False


def test_valid_days_binding_lapses_then_is_free(client: FlaskClient, app: Flask) -> None:
    set_settings(app, binding_mode="valid_days", binding_valid_days=7)
    first = become_distributor(client, "days-1")
    second = become_distributor(client, "days-2")
    buyer = _buyer(client, "days-b", first["centre"]["scene"])
    assert _bind(client, buyer["headers"], second["centre"]["scene"])["reason"] == "already_bound"
    with app.app_context():
        db.session.get(Referral, buyer["user_id"]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    rebound = _bind(client, buyer["headers"], second["centre"]["scene"])
    assert rebound == {"bound": True, "reason": "rebound", "referrer_id": second["user_id"]}


def test_last_touch_overrides(client: FlaskClient, app: Flask) -> None:
    set_settings(app, binding_mode="last_touch")
    first = become_distributor(client, "last-1")
    second = become_distributor(client, "last-2")
    buyer = _buyer(client, "last-b", first["centre"]["scene"])
    assert _bind(client, buyer["headers"], second["centre"]["scene"])["reason"] == "rebound"
    team = client.get("/api/v1/distributor/team", headers=second["headers"]).get_json()
    assert [m["user_id"] for m in team["items"]] == [buyer["user_id"]]
    assert client.get("/api/v1/distributor/team", headers=first["headers"]).get_json()["total"] == 0


def test_scope_new_users_only(client: FlaskClient, app: Flask) -> None:
    set_settings(app, binding_scope="new_users")
    distributor = become_distributor(client, "scope-d")
    newcomer = _buyer(client, "scope-new", distributor["centre"]["scene"])
    assert newcomer["referral"]["bound"] is True
    old = _buyer(client, "scope-old")
    with app.app_context():
        db.session.get(User, old["user_id"]).created_at = utcnow() - timedelta(days=3)
        db.session.commit()
    assert _bind(client, old["headers"], distributor["centre"]["scene"])["reason"] == "not_new_user"

    set_settings(app, binding_scope="no_referrer")
    assert _bind(client, old["headers"], distributor["centre"]["scene"])["bound"] is True


def test_nobody_refers_themselves_and_junk_scenes_bind_nobody(
    client: FlaskClient, app: Flask
) -> None:
    me = become_distributor(client, "self-d")
    assert _bind(client, me["headers"], me["centre"]["scene"])["reason"] == "self"
    for junk in ("zzz", "r", "r!!", "r999999"):
        assert _bind(client, me["headers"], junk)["reason"] in ("unknown_scene", "not_distributor")
    bad = client.post("/api/v1/referral/bind", json={"scene": "x" * 40}, headers=me["headers"])
    assert bad.status_code == 400 and "scene" in bad.get_json()["error"]["fields"]


def test_a_referrer_that_is_not_an_approved_distributor_binds_nobody(
    client: FlaskClient, app: Flask
) -> None:
    set_settings(app, application_review="manual")
    pending = become_distributor(client, "pend-d")
    from wxdist.distribution.referrals import distributor_scene

    buyer = _buyer(client, "pend-b", distributor_scene(pending["user_id"]))
    assert buyer["referral"]["reason"] == "not_distributor"


# ---- self purchase, freeze, auto-complete, disable, snapshot -----------------------------


@pytest.mark.parametrize("self_purchase", [True, False])
def test_self_purchase_commission(
    self_purchase: bool, client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(
        app, self_purchase_commission=self_purchase, level1_rate_bp=1000, level2_rate_bp=500
    )
    top = become_distributor(client, f"sp{self_purchase}-top")
    _buyer(client, f"sp{self_purchase}-me", top["centre"]["scene"])
    me = become_distributor(client, f"sp{self_purchase}-me")
    product = make_product(app, price_fen=10_000)
    pay_order(client, emulator.url, me["headers"], product["sku_id"])
    run_jobs()
    if self_purchase:  # 内购: I earn depth 1, my referrer depth 2
        assert (_frozen(client, me), _frozen(client, top)) == (1000, 500)
    else:
        assert (_frozen(client, me), _frozen(client, top)) == (0, 1000)


def test_freeze_days_and_auto_complete_days(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, freeze_days=7, auto_complete_days=10, level1_rate_bp=1000)
    _, mid, buyer = _chain(client, "freeze")
    product = make_product(app, price_fen=10_000)
    order = pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    with app.app_context():
        ship_whole_order(order["id"], "STO", "ST1")
        now = utcnow()
        assert settlement.auto_complete_orders(now + timedelta(days=9)) == 0
        assert settlement.auto_complete_orders(now + timedelta(days=10, seconds=1)) == 1
    assert get_order(client, buyer["headers"], order["id"])["status"] == "completed"
    with app.app_context():
        completed_at = now + timedelta(days=10, seconds=1)  # when the sweep completed it
        assert settlement.settle_due(completed_at + timedelta(days=6)) == 0
        assert settlement.settle_due(completed_at + timedelta(days=7, seconds=1)) == 1
    assert centre(client, mid["headers"])["balances"]["available_fen"] == 1000


def test_an_open_refund_holds_settlement(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    import requests

    set_settings(app, freeze_days=0)
    _, mid, buyer = _chain(client, "hold")
    product = make_product(app, price_fen=10_000)
    order = pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    _complete(client, app, buyer, order["id"])
    requests.post(f"{emulator.url}/_emulator/wechat/config", json={"auto_refund_notify": False})
    try:
        from wxdist.shop.refunds import request_refund

        with app.app_context():
            refund = request_refund(order["id"], 100, "部分")
            assert settlement.settle_due(utcnow() + timedelta(days=1)) == 0  # refunding
        requests.post(
            f"{emulator.url}/_emulator/wechat/settle-refund",
            json={"out_refund_no": refund.out_refund_no},
        )
        run_jobs()
        with app.app_context():
            assert settlement.settle_due(utcnow() + timedelta(days=1)) == 1
    finally:
        requests.post(f"{emulator.url}/_emulator/wechat/config", json={"auto_refund_notify": True})
    assert centre(client, mid["headers"])["balances"]["available_fen"] == 990  # 1000 x 9900/10000


def test_a_disabled_distributor_earns_nothing_new_but_keeps_the_balance(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500)
    top, mid, buyer = _chain(client, "dis")
    product = make_product(app, price_fen=10_000)
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    assert _frozen(client, mid) == 1000
    result = app.test_cli_runner().invoke(args=["distributor", "disable", str(mid["user_id"])])
    assert result.exit_code == 0
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    view = centre(client, mid["headers"])
    assert view["status"] == "disabled" and view["balances"]["frozen_fen"] == 1000
    assert _frozen(client, top) == 500 + 500  # depth 2 still earns; nobody moves up
    assert client.get("/api/v1/distributor/commissions", headers=mid["headers"]).status_code == 200


def test_the_chain_is_snapshotted_at_payment(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, binding_mode="last_touch", level1_rate_bp=1000, level2_rate_bp=0)
    first = become_distributor(client, "snap-1")
    second = become_distributor(client, "snap-2")
    buyer = _buyer(client, "snap-b", first["centre"]["scene"])
    product = make_product(app, price_fen=10_000)
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    _bind(client, buyer["headers"], second["centre"]["scene"])  # rebinding after the payment
    assert (_frozen(client, first), _frozen(client, second)) == (1000, 0)
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    assert (_frozen(client, first), _frozen(client, second)) == (1000, 1000)
    first_orders = client.get("/api/v1/distributor/orders", headers=first["headers"]).get_json()
    assert first_orders["total"] == 1


# ---- privacy ------------------------------------------------------------------------------


def test_a_distributor_sees_only_their_own_data(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000)
    a = become_distributor(client, "priv-a")
    b = become_distributor(client, "priv-b")
    buyer = _buyer(client, "priv-buyer", a["centre"]["scene"])
    with app.app_context():
        db.session.get(User, buyer["user_id"]).nickname = "张三丰"
        db.session.commit()
    product = make_product(app, price_fen=10_000)
    pay_order(client, emulator.url, buyer["headers"], product["sku_id"])
    run_jobs()
    for path in ("/distributor/team", "/distributor/commissions", "/distributor/orders"):
        assert client.get(f"/api/v1{path}", headers=b["headers"]).get_json()["total"] == 0
        assert client.get(f"/api/v1{path}", headers=buyer["headers"]).status_code == 403
        assert client.get(f"/api/v1{path}").status_code == 401
    listed = client.get("/api/v1/distributor/orders", headers=a["headers"]).get_json()
    assert listed["items"][0]["buyer"] == "张*丰"
    assert "张三丰" not in client.get(
        "/api/v1/distributor/commissions", headers=a["headers"]
    ).get_data(as_text=True)
