"""A blocked customer: refused on order, cart checkout and withdrawal with `account_blocked`,
nothing written; unblocking restores both; block and unblock are in the audit log."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.shop import ADDRESS, login, make_product, sku_stock
from tests.test_withdrawals import balances, clean, fund, withdraw
from wxdist.accounts import audit, blocking
from wxdist.core.extensions import db
from wxdist.models import AuditEntry, Order, User, Withdrawal


def _user_id(client: FlaskClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["id"]


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def _order(client: FlaskClient, headers: dict[str, str], sku_id: int):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS},
        headers=headers,
    )


def test_a_blocked_customer_cannot_order_or_check_out_until_unblocked(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, price_fen=1000, stock=5)
    headers = login(client, "blocked-shopper")
    user_id = _user_id(client, headers)
    assert client.post(
        "/api/v1/cart/lines", json={"sku_id": product["sku_id"], "quantity": 1}, headers=headers
    ).status_code in (200, 201)
    with app.app_context():
        blocking.block(user_id, "刷单", None)

    refused = _order(client, headers, product["sku_id"])
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "account_blocked"
    checkout = client.post("/api/v1/cart/checkout", json={"address": ADDRESS}, headers=headers)
    assert checkout.status_code == 403
    assert checkout.get_json()["error"]["code"] == "account_blocked"
    assert _count(app, Order) == 0 and sku_stock(app, product["sku_id"]) == 5
    assert len(client.get("/api/v1/cart", headers=headers).get_json()["lines"]) == 1
    # The message is for a person, in their language.
    zh = _order(client, {**headers, "Accept-Language": "zh-CN"}, product["sku_id"])
    assert zh.get_json()["error"]["message"] != "your account is blocked; contact the store"

    with app.app_context():
        blocking.unblock(user_id, None)
    assert _order(client, headers, product["sku_id"]).status_code == 201
    assert sku_stock(app, product["sku_id"]) == 4
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.target_id == str(user_id)).order_by(AuditEntry.id)
        ).all()
        assert [e.action for e in entries] == ["customer.block", "customer.unblock"]
        assert audit.decode(entries[0].after_json) == {"blocked": True, "reason": "刷单"}
        assert db.session.get(User, user_id).blocked_at is None


def test_a_blocked_distributor_cannot_withdraw_and_nothing_moves(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "blocked-dist", 5000)
    before = balances(client, d)
    with app.app_context():
        blocking.block(d["user_id"], "账户异常", None)
    refused = withdraw(client, d, 3000)
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["error"]["code"] == "account_blocked"
    assert balances(client, d) == before
    assert _count(app, Withdrawal) == 0
    clean(app)

    with app.app_context():
        blocking.unblock(d["user_id"], None)
    assert withdraw(client, d, 3000).status_code == 201
    assert balances(client, d)["withdrawing_fen"] == 3000
    clean(app)


def test_a_block_needs_a_reason(app: Flask, client: FlaskClient) -> None:
    headers = login(client, "no-reason")
    user_id = _user_id(client, headers)
    import pytest

    from wxdist.core.errors import ApiError

    with app.app_context(), pytest.raises(ApiError) as refused:
        blocking.block(user_id, "  ", None)
    assert "reason" in refused.value.fields
