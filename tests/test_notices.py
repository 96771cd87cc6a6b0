"""Each notice goes out after its event: order shipped, after-sale result, commission
settled, withdrawal paid or failed, distributor approved (the fulfilment and after-sales
signals are sent directly here; the others come from the real settlement and payouts)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.notify_helpers import accept, log_rows, openid_of, remaining, sent, template, user_of
from tests.shop import (
    become_distributor,
    login,
    make_product,
    pay_order,
    set_settings,
)
from tests.test_withdrawals import fund, status_of, withdraw
from wxdist.core import events
from wxdist.distribution import settlement
from wxdist.models import MessageStatus
from wxdist.models.types import utcnow
from wxdist.money import withdrawals
from wxdist.shop import shipments


def _data(message: dict) -> dict[str, str]:
    return {keyword: item["value"] for keyword, item in message["data"].items()}


def test_the_shopper_is_told_when_the_order_ships(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "notice-ship")
    user_id = user_of(client, headers)
    accept(client, app, headers, "order_shipped")
    product = make_product(app, title="新疆长绒棉圆领短袖T恤男女同款纯色打底衫加绒", price_fen=990)
    order = pay_order(client, emulator.url, headers, product["sku_id"])
    with app.app_context():
        shipments.ship_whole_order(order["id"], "SF", "SF1234567890")
    run_jobs()
    (message,) = sent(emulator.url, openid_of(app, user_id))
    assert message["template_id"] == template(app, "order_shipped")
    assert message["page"] == f"pages/order/detail?id={order['id']}"
    data = _data(message)
    assert data["character_string1"] == order["order_no"]
    assert data["thing2"].startswith("新疆长绒棉") and len(data["thing2"]) == 20
    assert data["thing3"] == "顺丰速运 SF1234567890"
    assert data["time4"].startswith(str(utcnow().year))
    assert remaining(app, user_id, "order_shipped") == 0


def test_the_shopper_is_told_an_after_sale_result_but_not_their_own_cancellation(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "notice-aftersale")
    user_id = user_of(client, headers)
    accept(client, app, headers, "aftersale_result", times=3)
    with app.app_context():
        events.aftersale_changed.send("test", aftersale_id=41, user_id=user_id, status="agreed")
        events.aftersale_changed.send("test", aftersale_id=41, user_id=user_id, status="cancelled")
        events.aftersale_changed.send("test", aftersale_id=42, user_id=user_id, status="refunded")
    run_jobs()
    messages = sent(emulator.url, openid_of(app, user_id))
    assert [_data(m)["phrase2"] for m in messages] == ["申请已同意", "退款成功"]
    assert messages[0]["page"] == "pages/aftersale/detail?id=41"
    assert remaining(app, user_id, "aftersale_result") == 1


def test_the_distributor_is_told_when_commission_settles(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0, freeze_days=0)
    distributor = become_distributor(client, "notice-commission")
    accept(client, app, distributor["headers"], "commission_settled")
    buyer = login(client, "notice-commission-buyer", scene=distributor["centre"]["scene"])
    product = make_product(app, price_fen=12_300, stock=1)
    order = pay_order(client, emulator.url, buyer, product["sku_id"])
    run_jobs()  # attribution
    with app.app_context():
        shipments.ship_whole_order(order["id"], "SF", "SF1")
    client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=buyer)
    with app.app_context():
        assert settlement.settle_due(utcnow() + timedelta(seconds=1)) == 1
    run_jobs()
    (message,) = sent(emulator.url, openid_of(app, distributor["user_id"]))
    assert message["template_id"] == template(app, "commission_settled")
    assert _data(message)["amount1"] == "¥12.30"
    assert _data(message)["thing3"] == "佣金已可提现"


def test_the_distributor_is_told_when_a_withdrawal_is_paid_or_fails(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "notice-wd", 5000)
    run_jobs()  # the settlement's notice
    (settled,) = log_rows(
        app, d["user_id"], "commission_settled"
    )  # settled before the distributor allowed it
    assert (settled.kind, settled.status) == ("commission_settled", MessageStatus.NO_CONSENT)
    accept(client, app, d["headers"], "withdrawal_finished", times=2)
    good = withdraw(
        client, d, 1000, "alipay", alipay_login="alice@example.com", real_name="王五"
    ).get_json()
    bad = withdraw(
        client, d, 2000, "alipay", alipay_login="alice@example.com", real_name="错误姓名"
    ).get_json()
    with app.app_context():
        withdrawals.approve_many([good["id"], bad["id"]])
    run_jobs()
    assert status_of(client, d, bad["id"])["status"] == "failed"
    messages = sent(emulator.url, openid_of(app, d["user_id"]))
    told = sorted((_data(m)["phrase2"], _data(m)["amount1"]) for m in messages)
    assert told == [("已到账", "¥10.00"), ("提现失败", "¥20.00")]


def test_a_new_distributor_is_told_they_were_approved(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "notice-approved")
    user_id = user_of(client, headers)
    accept(client, app, headers, "distributor_approved")
    response = client.post(
        "/api/v1/distributor/application",
        json={"real_name": "王五", "phone": "13700137000"},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    run_jobs()
    (message,) = sent(emulator.url, openid_of(app, user_id))
    assert _data(message)["phrase1"] == "审核通过"
    assert message["page"] == "pages/distributor/index"
