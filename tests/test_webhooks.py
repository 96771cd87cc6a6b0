"""Outbound webhooks: a paid order reaches the merchant's receiver signed as Standard
Webhooks verify it (the `standardwebhooks` package's own `Webhook.verify`); a receiver that
fails, then times out, then answers gets the one message three times under one `webhook-id`
and it counts as one success; 410 disables the endpoint; `Retry-After` is honoured; a
rolled-back change sends nothing; a rotated secret and the old one both sign meanwhile.

Time between retries is not waited for: like the payout crash test, a test moves a
delivery's `next_attempt_at` into the past ("time passes") and runs the sweep, which
is what the periodic job does."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from standardwebhooks import Webhook

from tests.aftersale_helpers import apply, bought
from tests.receiver import Answer, Hang, Receiver
from tests.shop import (
    fund,
    login,
    make_product,
    pay_order,
    place_order,
    set_settings,
    wait_for_status,
    withdraw,
)
from wxdist.core.extensions import db
from wxdist.integrations import delivery, endpoints, outbox
from wxdist.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from wxdist.models.types import utcnow
from wxdist.money import withdrawals
from wxdist.shop import refunds


@pytest.fixture()
def receiver() -> Any:
    with Receiver() as running:
        yield running


def _endpoint(app: Flask, url: str, events: list[str] | None = None) -> endpoints.Made:
    with app.app_context():
        return endpoints.create(url, events or ["*"], "ERP")


def _time_passes(app: Flask) -> None:
    """Every pending delivery's backoff is over."""
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.state == DeliveryState.PENDING)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _deliver(app: Flask, run_jobs: Any) -> None:
    """What the periodic sweep does (inline: sends; on RQ: schedules the drain, which the
    burst worker runs)."""
    with app.app_context():
        delivery.sweep()
    run_jobs()


def _delivery(app: Flask) -> WebhookDelivery:
    with app.app_context():
        found = db.session.scalars(select(WebhookDelivery)).one()
        db.session.expunge(found)
        return found


def _record(app: Flask, event_type: str = "order.paid", data: dict | None = None) -> None:
    with app.app_context():
        outbox.record(event_type, data or {"order_no": "WX1"})
        db.session.commit()


def test_a_paid_order_arrives_signed_and_verifies_with_the_standard_library(
    app: Flask, client: FlaskClient, emulator: Any, run_jobs: Any, receiver: Receiver
) -> None:
    made = _endpoint(app, receiver.url, ["order.paid"])
    assert made.secret.startswith("whsec_")
    product = make_product(app, price_fen=2590)
    order = pay_order(client, emulator.url, login(client, "hook-buyer"), product["sku_id"])
    _deliver(app, run_jobs)
    (got,) = receiver.wait_for(1)
    message = Webhook(made.secret).verify(got.body, got.headers)
    assert message["type"] == "order.paid"
    data = message["data"]
    assert data["order_no"] == order["order_no"] and data["status"] == "paid"
    assert data["paid_fen"] == 2590 and data["buyer_openid"]
    assert [(i["sku_id"], i["quantity"]) for i in data["items"]] == [(product["sku_id"], 1)]
    assert got.headers["webhook-id"].startswith("msg_")
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 32).verify(got.body, got.headers)  # another secret: refused
    found = _delivery(app)
    assert found.state == DeliveryState.SUCCEEDED and found.last_status == 200


def test_500_then_a_timeout_then_200_is_one_success_under_one_webhook_id(
    app: Flask, run_jobs: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 1)
    made = _endpoint(app, receiver.url)
    receiver.script.extend([500, Hang(3), 200])
    _record(app, "order.shipped", {"order_no": "WX2", "tracking_no": "SF1"})
    _deliver(app, run_jobs)
    first = _delivery(app)
    assert first.state == DeliveryState.PENDING and first.last_status == 500
    assert first.next_attempt_at > utcnow()  # waits out its backoff
    _deliver(app, run_jobs)  # not due yet: nothing sent
    assert len(receiver.received) == 1
    for _turn in range(2):
        _time_passes(app)
        _deliver(app, run_jobs)
    sent = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in sent}) == 1
    for r in sent:  # each attempt signed afresh, each verifies
        assert Webhook(made.secret).verify(r.body, r.headers)["data"]["tracking_no"] == "SF1"
    found = _delivery(app)
    assert found.state == DeliveryState.SUCCEEDED and found.attempts == 3
    with app.app_context():
        log = db.session.execute(
            select(WebhookAttempt.status, WebhookAttempt.error).order_by(WebhookAttempt.id)
        ).all()
    assert [tuple(row) for row in log] == [(500, "HTTP 500"), (None, "timeout"), (200, "")]
    _time_passes(app)
    _deliver(app, run_jobs)
    assert len(receiver.received) == 3  # succeeded: never sent again


def test_410_disables_the_endpoint_and_fails_what_it_had_pending(
    app: Flask, run_jobs: Any, receiver: Receiver
) -> None:
    made = _endpoint(app, receiver.url)
    receiver.default = 410
    _record(app)
    _record(app, "refund.succeeded", {"out_refund_no": "R1"})
    _deliver(app, run_jobs)
    receiver.wait_for(1)
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, made.endpoint_id)
        assert not endpoint.enabled and endpoint.disabled_reason == "gone"
        states = db.session.scalars(select(WebhookDelivery.state)).all()
        assert states == [DeliveryState.FAILED] * 2
        assert outbox.record("order.paid", {"order_no": "WX3"}) is None  # nothing to write
        db.session.commit()
    _time_passes(app)
    _deliver(app, run_jobs)
    assert len(receiver.received) in (1, 2)  # the batch in flight, then nothing more
    with app.app_context():
        endpoints.set_enabled(made.endpoint_id, True)
        assert db.session.get(WebhookEndpoint, made.endpoint_id).disabled_reason == ""


def test_retry_after_sets_the_next_attempt_when_later_than_the_backoff(
    app: Flask, run_jobs: Any, receiver: Receiver
) -> None:
    _endpoint(app, receiver.url)
    receiver.script.append(Answer(503, {"Retry-After": "120"}))
    _record(app)
    before = utcnow()
    _deliver(app, run_jobs)
    found = _delivery(app)
    assert found.state == DeliveryState.PENDING and found.last_status == 503
    assert found.next_attempt_at >= before + timedelta(seconds=119)  # not the 5 s backoff


def test_a_rolled_back_change_leaves_nothing_to_send(
    app: Flask, run_jobs: Any, receiver: Receiver
) -> None:
    _endpoint(app, receiver.url)
    with app.app_context():
        assert outbox.record("order.paid", {"order_no": "WX4"}) is not None
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    _deliver(app, run_jobs)
    assert receiver.received == []


def test_only_the_events_an_endpoint_takes_reach_it(
    app: Flask, run_jobs: Any, receiver: Receiver
) -> None:
    _endpoint(app, receiver.url, ["refund.succeeded"])
    _record(app, "order.paid")
    _record(app, "refund.succeeded", {"out_refund_no": "R2"})
    _deliver(app, run_jobs)
    (got,) = receiver.wait_for(1)
    assert json.loads(got.body)["type"] == "refund.succeeded"
    with app.app_context(), pytest.raises(ValueError):
        outbox.record("order.teleported", {})


def test_during_a_rotation_the_old_and_the_new_secret_both_verify(
    app: Flask, run_jobs: Any, receiver: Receiver
) -> None:
    made = _endpoint(app, receiver.url)
    with app.app_context():
        new = endpoints.rotate(made.endpoint_id, overlap_hours=24)
    _record(app)
    _deliver(app, run_jobs)
    (got,) = receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (made.secret, new):
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "order.paid"
    with app.app_context():  # a leaked secret stops at once
        newest = endpoints.rotate(made.endpoint_id, overlap_hours=0)
    _record(app, "order.cancelled")
    _deliver(app, run_jobs)
    latest = receiver.wait_for(2)[-1]
    assert latest.headers["webhook-signature"].count("v1,") == 1
    Webhook(newest).verify(latest.body, latest.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(new).verify(latest.body, latest.headers)


def test_an_endpoint_needs_a_web_address_and_known_events(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(Exception) as bad_url:
            endpoints.create("ftp://erp.example.com/hooks", ["*"])
        assert bad_url.value.fields.keys() == {"url"}  # type: ignore[attr-defined]
        with pytest.raises(Exception) as bad_events:
            endpoints.create("https://erp.example.com/hooks", ["order.teleported"])
        assert bad_events.value.fields.keys() == {"events"}  # type: ignore[attr-defined]
        assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_each_change_a_webhook_reports_writes_its_event_with_the_change(
    app: Flask, client: FlaskClient, emulator: Any, run_jobs: Any, receiver: Receiver
) -> None:
    """The whole life of a referred order and its distributor's withdrawal (the real
    services: approval, payment, shipment, receipt, settlement, payout) leaves one event of
    each type, in order, each with its subject; an unpaid order cancelled and a refund
    leave theirs."""
    made = _endpoint(app, receiver.url)
    d = fund(client, app, emulator, run_jobs, "hook-life", 3000)
    set_settings(app, wechat_payout_api="v2", withdraw_fee_bp=0, withdraw_min_fee_fen=0)
    w = withdraw(client, d, 1000).get_json()
    with app.app_context():
        withdrawals.approve(w["id"])
    run_jobs()
    buyer = login(client, "hook-canceller")
    product = make_product(app, price_fen=990)
    unpaid = place_order(client, buyer, product["sku_id"])
    assert client.post(f"/api/v1/orders/{unpaid['id']}/cancel", headers=buyer).status_code == 200
    refunded = pay_order(client, emulator.url, buyer, product["sku_id"])
    with app.app_context():
        refunds.request_refund(refunded["id"], 990, "缺货")
    wait_for_status(client, buyer, refunded["id"], "refunded")
    with app.app_context():
        events = db.session.execute(
            select(WebhookEvent.type, WebhookEvent.body).order_by(WebhookEvent.id)
        ).all()
    types = [t for t, _b in events]
    assert types == [
        "distributor.approved", "order.paid", "order.shipped", "order.completed",
        "withdrawal.paid", "order.cancelled", "order.paid", "refund.succeeded",
    ]  # fmt: skip
    data = [json.loads(b)["data"] for _t, b in events]
    assert data[0]["user_id"] == d["user_id"]
    assert data[2]["shipment"]["all_delivered"] and data[2]["order"]["status"] == "shipped"
    assert data[3]["status"] == "completed" and data[3]["completed_at"]
    assert (data[4]["net_fen"], data[4]["status"]) == (1000, "paid")
    assert data[5]["order_no"] == unpaid["order_no"] and data[5]["status"] == "cancelled"
    assert (data[7]["order_no"], data[7]["amount_fen"]) == (refunded["order_no"], 990)
    _deliver(app, run_jobs)
    got = receiver.wait_for(len(types))
    assert sorted(Webhook(made.secret).verify(r.body, r.headers)["type"] for r in got) == sorted(
        types
    )


def test_an_after_sale_opened_and_cancelled_sends_each_move(
    app: Flask, client: FlaskClient, emulator: Any, receiver: Receiver
) -> None:
    _endpoint(app, receiver.url, ["aftersale.changed"])
    sale = bought(client, app, emulator, "hook-after")
    opened = apply(client, sale)
    assert opened.status_code == 201, opened.get_json()
    sale_id = opened.get_json()["id"]
    cancelled = client.post(f"/api/v1/aftersales/{sale_id}/cancel", headers=sale["headers"])
    assert cancelled.status_code == 200, cancelled.get_json()
    with app.app_context():
        bodies = db.session.scalars(select(WebhookEvent.body).order_by(WebhookEvent.id)).all()
    moves = [json.loads(b)["data"] for b in bodies]
    assert [(m["id"], m["status"]) for m in moves] == [(sale_id, "applied"), (sale_id, "cancelled")]
    assert moves[0]["order_no"] == sale["order"]["order_no"] and moves[0]["amount_fen"] == 1000
