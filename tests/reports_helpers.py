"""A scripted history for the report tests: two distributors (the second in the first's
team), codes on two channels, purchases either side of the Asia/Shanghai midnight, and a
partial refund; and a direct count of what the reports should say."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.shop import (
    become_distributor,
    emulator_pay,
    login,
    make_product,
    place_order,
    set_settings,
    start_pay,
    wait_for_status,
)
from wxdist.core.clock import to_local, utc_start
from wxdist.core.extensions import db
from wxdist.models import (
    Commission,
    LedgerEntry,
    Order,
    OrderItem,
    ReferralBinding,
    Refund,
)
from wxdist.models.types import utcnow


def link(client: FlaskClient, headers: dict[str, str], **params: Any) -> str:
    response = client.get("/api/v1/distributor/share-link", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["scene"]


def pay_at(
    client: FlaskClient,
    app: Flask,
    emulator: EmulatorServer,
    headers: dict[str, str],
    sku_id: int,
    paid_at: datetime,
    quantity: int = 1,
) -> int:
    """Order and pay; the gateway's notify says it was paid at `paid_at` (UTC)."""
    from wxdist.shop.payment_flow import apply_payment

    order = place_order(client, headers, sku_id, quantity)
    pay = start_pay(client, headers, order["id"])
    paid = emulator_pay(emulator.url, "wechat", pay["out_trade_no"], notify=False)
    with app.app_context():
        payment_amount = db.session.scalar(select(Order.payable_fen).where(Order.id == order["id"]))
        apply_payment(
            "wechat", pay["out_trade_no"], paid["transaction_id"], payment_amount, None, paid_at
        )
    return order["id"]


def history(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> dict[str, Any]:
    """A (level 1 10 %, level 2 5 %) with codes on `group` (product 1) and `moments`; B,
    brought by A's moments code, a distributor too, with a `group` code; buyer 1 through
    A's group code buys product 1 at 23:59:30 Shanghai the day before yesterday; buyer 2
    through A's moments code buys two of product 2 at 00:00:30 yesterday; buyer 3 through
    B's code buys product 1 at 00:01:30 yesterday; buyer 1's order is refunded 30.00 now."""
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500, freeze_days=0)
    first = make_product(app, price_fen=10_000, stock=10, title="长绒棉 T 恤")
    second = make_product(app, price_fen=5_000, stock=10, title="亚麻衬衫")
    a = become_distributor(client, "rep-a")
    a_group = link(client, a["headers"], product_id=first["product_id"], channel="group")
    a_moments = link(client, a["headers"], channel="moments")
    login(client, "rep-b", scene=a_moments)
    b = become_distributor(client, "rep-b")
    b_group = link(client, b["headers"], channel="group")
    assert client.post("/api/v1/share/scan", json={"scene": a_group}).status_code == 200
    buyer1 = login(client, "rep-buyer-1", scene=a_group)
    buyer2 = login(client, "rep-buyer-2")
    bound = client.post("/api/v1/referral/bind", json={"scene": a_moments}, headers=buyer2)
    assert bound.get_json()["bound"] is True
    buyer3 = login(client, "rep-buyer-3", scene=b_group)
    with app.app_context():
        midnight = utc_start(to_local(utcnow()).date() - timedelta(days=1))
    o1 = pay_at(client, app, emulator, buyer1, first["sku_id"], midnight - timedelta(seconds=30))
    o2 = pay_at(
        client, app, emulator, buyer2, second["sku_id"], midnight + timedelta(seconds=30), 2
    )
    o3 = pay_at(client, app, emulator, buyer3, first["sku_id"], midnight + timedelta(seconds=90))
    run_jobs()  # attribution (inline without Redis)
    from wxdist.shop import refunds

    with app.app_context():
        refunds.request_refund(o1, 3_000, reason="尺码不合适")
    wait_for_status(client, buyer1, o1, "paid")
    run_jobs()
    return {
        "a": a,
        "b": b,
        "codes": {"a_group": a_group, "a_moments": a_moments, "b_group": b_group},
        "orders": (o1, o2, o3),
        "products": (first["product_id"], second["product_id"]),
        "buyers": (buyer1, buyer2, buyer3),
    }


def day(moment: datetime) -> date:
    return to_local(moment).date()


def direct_counts() -> dict[str, dict[tuple[Any, ...], Counter[str]]]:
    """What the aggregates should hold, counted straight from the orders, items, commission
    records, refunds, ledger and bindings (in an app context)."""
    daily: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    channel: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    product: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    orders = {
        o.id: o for o in db.session.scalars(select(Order).where(Order.attributed_at.is_not(None)))
    }
    bindings = {}
    for b in db.session.scalars(select(ReferralBinding).order_by(ReferralBinding.id)):
        bindings[(b.user_id, b.referrer_id)] = b.channel
        daily[(b.referrer_id, day(b.created_at))]["new_members"] += 1
    refund_day = {}
    for r in db.session.scalars(select(Refund).where(Refund.status == "succeeded")):
        refund_day[r.order_id] = day(r.settled_at)
        seller = orders[r.order_id].referrer_l1_id
        if seller is not None:
            daily[(seller, day(r.settled_at))]["refunds"] += 1
            daily[(seller, day(r.settled_at))]["refunded_fen"] += r.amount_fen
            ch = bindings.get((orders[r.order_id].user_id, seller), "")
            channel[(seller, day(r.settled_at), ch)]["refunded_fen"] += r.amount_fen
            channel[(seller, day(r.settled_at), ch)]["refunds"] += 1
    for o in orders.values():
        if o.referrer_l1_id is None:
            continue
        key = (o.referrer_l1_id, day(o.paid_at))
        daily[key]["orders"] += 1
        daily[key]["paid_fen"] += o.paid_fen
        ch = bindings.get((o.user_id, o.referrer_l1_id), "")
        channel[(*key, ch)]["orders"] += 1
        channel[(*key, ch)]["paid_fen"] += o.paid_fen
    items = {i.id: i for i in db.session.scalars(select(OrderItem))}
    for item in items.values():
        o = orders.get(item.order_id)
        if o is None or o.referrer_l1_id is None:
            continue
        product[(o.referrer_l1_id, day(o.paid_at), item.product_id)]["orders"] += 1
        product[(o.referrer_l1_id, day(o.paid_at), item.product_id)]["paid_fen"] += item.paid_fen
        if item.refunded_fen:
            later = (o.referrer_l1_id, refund_day[o.id], item.product_id)
            product[later]["refunded_fen"] += item.refunded_fen
    for c in db.session.scalars(select(Commission)):
        o = orders[c.order_id]
        daily[(c.beneficiary_id, day(o.paid_at))]["commission_fen"] += c.amount_fen
        if c.level == 1:
            ch = bindings.get((o.user_id, o.referrer_l1_id), "")
            channel[(c.beneficiary_id, day(o.paid_at), ch)]["commission_fen"] += c.amount_fen
            pid = items[c.order_item_id].product_id
            product[(c.beneficiary_id, day(o.paid_at), pid)]["commission_fen"] += c.amount_fen
    for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "clawback")):
        daily[(e.user_id, day(e.created_at))]["commission_clawed_fen"] -= e.amount_fen
        c = db.session.get(Commission, e.commission_id)
        if c is not None and c.level == 1:
            o = orders[c.order_id]
            ch = bindings.get((o.user_id, o.referrer_l1_id), "")
            k = (c.beneficiary_id, day(e.created_at))
            channel[(*k, ch)]["commission_clawed_fen"] -= e.amount_fen
            pid = items[c.order_item_id].product_id
            product[(*k, pid)]["commission_clawed_fen"] -= e.amount_fen
    return {"daily": daily, "channel": channel, "product": product}
