"""Subscribe messages: the consent ledger through the API, one consent per send, 43101,
keyword rules, retries, the merchant's switches, against the emulator over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from payments.errors import GatewayRejected
from tests.notify_helpers import (
    accept,
    log_rows,
    openid_of,
    refuse,
    remaining,
    sent,
    template,
    user_of,
)
from tests.shop import login
from wxdist.core import events
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.models import MessageStatus
from wxdist.models.types import utcnow
from wxdist.notifications import sender, switches
from wxdist.notifications.keywords import BadKeyword, check_data, check_value


def _settle(app: Flask, user_id: int, order_id: int, amount_fen: int = 1230) -> None:
    """What settlement sends after its commit (the signal, directly)."""
    with app.app_context():
        events.commission_settled.send(
            "test", beneficiary_id=user_id, amount_fen=amount_fen, order_id=order_id
        )


def test_each_accept_allows_one_send_and_the_third_is_not_sent(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "consent-1")
    user_id = user_of(client, headers)
    items = accept(client, app, headers, "commission_settled", times=2)
    counted = {i["kind"]: i["remaining"] for i in items}
    assert counted["commission_settled"] == 2 and counted["order_shipped"] == 0
    for order_id in (1, 2, 3):
        _settle(app, user_id, order_id)
        run_jobs()
    messages = sent(emulator.url, openid_of(app, user_id))
    assert len(messages) == 2
    first = messages[0]
    assert first["template_id"] == template(app, "commission_settled")
    assert first["data"]["amount1"] == {"value": "¥12.30"}
    assert first["lang"] == "zh_CN"
    assert first["miniprogram_state"] == app.config["SUBSCRIBE_MINIPROGRAM_STATE"]
    statuses = [row.status for row in log_rows(app, user_id)]
    assert statuses == [MessageStatus.SENT, MessageStatus.SENT, MessageStatus.NO_CONSENT]
    assert remaining(app, user_id, "commission_settled") == 0
    listed = client.get("/api/v1/me/subscriptions", headers=headers).get_json()["items"]
    assert {i["kind"]: i["remaining"] for i in listed}["commission_settled"] == 0


def test_wechat_43101_zeroes_the_count_and_is_not_an_error(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "consent-43101")
    user_id = user_of(client, headers)
    accept(client, app, headers, "commission_settled", times=3)
    refuse(emulator.url, openid_of(app, user_id))
    _settle(app, user_id, 10)
    run_jobs()
    (row,) = log_rows(app, user_id)
    assert (row.status, row.errcode, row.attempts) == (MessageStatus.REFUSED, "43101", 1)
    assert remaining(app, user_id, "commission_settled") == 0
    _settle(app, user_id, 11)  # nothing left: not even tried
    run_jobs()
    assert log_rows(app, user_id)[-1].status == MessageStatus.NO_CONSENT
    assert sent(emulator.url, openid_of(app, user_id)) == []


def test_a_repeated_event_is_noticed_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "consent-dup")
    user_id = user_of(client, headers)
    accept(client, app, headers, "commission_settled", times=2)
    _settle(app, user_id, 20)
    _settle(app, user_id, 20)
    run_jobs()
    assert len(sent(emulator.url, openid_of(app, user_id))) == 1
    assert remaining(app, user_id, "commission_settled") == 1


def test_unknown_templates_and_results_are_refused_naming_the_field(
    client: FlaskClient, app: Flask
) -> None:
    headers = login(client, "consent-bad")
    user_id = user_of(client, headers)
    unknown = client.post(
        "/api/v1/me/subscriptions",
        json={"tmplNotOurs": "accept", template(app, "order_shipped"): "accept"},
        headers=headers,
    )
    assert unknown.status_code == 404
    error = unknown.get_json()["error"]
    assert error["code"] == "unknown_template" and set(error["fields"]) == {"tmplNotOurs"}
    wrong = client.post(
        "/api/v1/me/subscriptions",
        json={template(app, "order_shipped"): "yes please"},
        headers=headers,
    )
    assert wrong.status_code == 400
    assert template(app, "order_shipped") in wrong.get_json()["error"]["fields"]
    for body in ({"x": 1}, [], {"errMsg": 5}, {f"t{i}": "reject" for i in range(21)}):
        response = client.post("/api/v1/me/subscriptions", json=body, headers=headers)
        assert response.status_code == 400, body
    nothing = client.post("/api/v1/me/subscriptions", json={"errMsg": "ok"}, headers=headers)
    assert nothing.status_code == 200  # nothing to record: the counts as they are
    assert client.post("/api/v1/me/subscriptions", json={"a": "accept"}).status_code == 401
    assert remaining(app, user_id, "order_shipped") == 0  # nothing was recorded
    # reject and filter add nothing; ban zeroes what was allowed
    accept(client, app, headers, "order_shipped", times=2)
    tid = template(app, "order_shipped")
    for result in ("reject", "filter"):
        client.post("/api/v1/me/subscriptions", json={tid: result}, headers=headers)
    assert remaining(app, user_id, "order_shipped") == 2
    client.post("/api/v1/me/subscriptions", json={tid: "ban"}, headers=headers)
    assert remaining(app, user_id, "order_shipped") == 0


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("thing1", "您的订单已发货"),
        ("number2", "12.5"),
        ("letter3", "abc"),
        ("symbol4", "%+"),
        ("character_string5", "WX2026-001"),
        ("time6", "15:01"),
        ("time6", "2019年10月1日 15:01"),
        ("date7", "2026-12-03 13:45"),
        ("date7", "2026-12-03~2026-12-05"),
        ("amount8", "¥12.30"),
        ("amount8", "12.30元"),
        ("phone_number9", "+86-0766-66888866"),
        ("car_number10", "粤A8Z888挂"),
        ("name11", "王五"),
        ("name11", "John Smith"),
        ("phrase12", "配送中"),
    ],
)
def test_values_that_keep_their_keyword_rule_pass(keyword: str, value: str) -> None:
    assert check_value(keyword, value) == value


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("number2", "12a"),
        ("number2", "1" * 33),
        ("letter3", "ab1"),
        ("symbol4", "abc"),
        ("symbol4", "%%%%%%"),
        ("character_string5", "中文"),
        ("character_string5", "x" * 33),
        ("time6", "25:00"),
        ("date7", "昨天"),
        ("amount8", "12.345"),
        ("amount8", "¥12345678901"),
        ("phone_number9", "1" * 18),
        ("car_number10", "粤A8Z888挂X"),
        ("name11", "王" * 11),
        ("phrase12", "配送中了吗啊"),
        ("phrase12", "ok"),
        ("thing1", "第一行\n第二行"),
        ("thing1", ""),
        ("foo1", "x"),
        ("thing", "no number"),
    ],
)
def test_values_that_break_their_keyword_rule_are_refused(keyword: str, value: str) -> None:
    with pytest.raises(BadKeyword):
        check_value(keyword, value)


def test_a_long_thing_is_cut_to_twenty_characters() -> None:
    cut = check_value("thing1", "新疆长绒棉圆领短袖T恤男女同款纯色打底衫加绒款")
    assert len(cut) == 20 and cut.endswith("…") and cut.startswith("新疆长绒棉圆领短袖T恤")
    assert check_data({"thing1": "x" * 20}) == {"thing1": "x" * 20}
    with pytest.raises(BadKeyword):
        check_data({})


def test_a_bad_value_is_logged_and_spends_nothing(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "consent-baddata")
    user_id = user_of(client, headers)
    accept(client, app, headers, "order_shipped")
    with app.app_context():
        values = {"character_string1": "订单一", "thing2": "T恤"}  # Chinese is no string
        sender.queue_notice("order_shipped", user_id, values, "pages/index/index")
    run_jobs()
    (row,) = log_rows(app, user_id)
    assert (row.status, row.errcode) == (MessageStatus.FAILED, "bad_data")
    assert "character_string1" in row.error
    assert remaining(app, user_id, "order_shipped") == 1
    assert sent(emulator.url) == []


def test_the_emulator_refuses_bad_data_with_47003(app: Flask) -> None:
    body = {
        "touser": "oSomeone",
        "template_id": template(app, "order_shipped"),
        "data": {"thing1": {"value": "x" * 21}},
    }
    with app.app_context(), pytest.raises(GatewayRejected) as refused:
        gateways().miniprogram.post_json(sender.SEND_PATH, body)
    assert refused.value.code == "47003"
    with app.app_context(), pytest.raises(GatewayRejected) as unknown:
        gateways().miniprogram.post_json(sender.SEND_PATH, {**body, "template_id": "nope"})
    assert unknown.value.code == "40037"


def _arm(emulator: EmulatorServer, mode: str, times: int = 1, code: str = "") -> None:
    fault = {"key": "/cgi-bin/message/subscribe/send", "mode": mode, "times": times}
    if code:
        fault["code"] = code
    requests.post(f"{emulator.url}/_emulator/faults", json=fault, timeout=5)


def test_a_failed_send_is_retried_with_backoff_and_spends_one_consent(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "consent-retry")
    user_id = user_of(client, headers)
    accept(client, app, headers, "commission_settled", times=2)
    _arm(emulator, "error500")
    _settle(app, user_id, 30)
    run_jobs()
    (row,) = log_rows(app, user_id)
    assert (row.status, row.attempts, row.errcode) == (MessageStatus.RETRY, 1, "unavailable")
    assert row.next_attempt_at > utcnow()
    with app.app_context():
        assert sender.resend_due() == 0  # not due yet
        _arm(emulator, "fail", code="-1")  # WeChat busy: again later
        assert sender.resend_due(utcnow() + timedelta(hours=1)) == 1
    run_jobs()
    (row,) = log_rows(app, user_id)
    assert (row.status, row.attempts, row.errcode) == (MessageStatus.RETRY, 2, "-1")
    with app.app_context():
        assert sender.resend_due(utcnow() + timedelta(hours=1)) == 1
    run_jobs()
    (row,) = log_rows(app, user_id)
    assert (row.status, row.attempts) == (MessageStatus.SENT, 3)
    assert len(sent(emulator.url, openid_of(app, user_id))) == 1
    assert remaining(app, user_id, "commission_settled") == 1  # one spent for three tries
    with app.app_context():
        assert sender.send_message(row.id) is None  # a sent message is never sent again


def test_queued_messages_a_job_lost_are_sent_and_interrupted_ones_are_not(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    from wxdist.models import MessageLog

    headers = login(client, "consent-lost")
    user_id = user_of(client, headers)
    accept(client, app, headers, "commission_settled", times=2)
    with app.app_context():
        base = {
            "user_id": user_id,
            "kind": "commission_settled",
            "template_id": template(app, "commission_settled"),
            "data": {"amount1": "¥1.00"},
        }
        lost = MessageLog(**base)  # queued, its job lost with Redis
        dead = MessageLog(**base, status=MessageStatus.SENDING, consent_spent=True, attempts=1)
        db.session.add_all([lost, dead])
        db.session.commit()
        lost_id, dead_id = lost.id, dead.id
        assert sender.resend_due() == 0  # too recent to be called lost
        assert sender.resend_due(utcnow() + timedelta(minutes=11)) == 1
    run_jobs()
    rows = {row.id: row for row in log_rows(app, user_id)}
    assert rows[lost_id].status == MessageStatus.SENT
    assert (rows[dead_id].status, rows[dead_id].errcode) == (MessageStatus.FAILED, "interrupted")
    assert len(sent(emulator.url)) == 1


def test_a_definite_refusal_fails_and_gives_the_consent_back(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "consent-40037")
    user_id = user_of(client, headers)
    accept(client, app, headers, "commission_settled")
    _arm(emulator, "fail", code="40037")
    _settle(app, user_id, 40)
    run_jobs()
    (row,) = log_rows(app, user_id)
    assert (row.status, row.errcode) == (MessageStatus.FAILED, "40037")
    assert remaining(app, user_id, "commission_settled") == 1


def test_a_notice_switched_off_is_not_sent(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "consent-off")
    user_id = user_of(client, headers)
    accept(client, app, headers, "commission_settled")
    with app.app_context():
        assert switches.set_switches({"commission_settled": False}) == {"commission_settled": False}
        db.session.commit()
        assert switches.all_switches()["commission_settled"] is False
    _settle(app, user_id, 50)
    run_jobs()
    assert log_rows(app, user_id) == [] and sent(emulator.url) == []
    assert remaining(app, user_id, "commission_settled") == 1
    with app.app_context():
        switches.set_switches({"commission_settled": True})
        db.session.commit()
    _settle(app, user_id, 51)
    run_jobs()
    assert len(sent(emulator.url)) == 1


def test_concurrent_sends_spend_each_consent_exactly_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """Six messages queued for two consents, sent by six threads at once: two go out."""
    import threading

    from wxdist.models import MessageLog

    headers = login(client, "consent-race")
    user_id = user_of(client, headers)
    accept(client, app, headers, "commission_settled", times=2)
    with app.app_context():
        rows = [
            MessageLog(
                user_id=user_id,
                kind="commission_settled",
                template_id=template(app, "commission_settled"),
                page="pages/distributor/index",
                data={"amount1": "¥1.00", "thing3": "并发"},
            )
            for _ in range(6)
        ]
        db.session.add_all(rows)
        db.session.commit()
        ids = [row.id for row in rows]
    barrier = threading.Barrier(len(ids))
    results: list[str | None] = []

    def send(log_id: int) -> None:
        with app.app_context():
            barrier.wait()
            results.append(sender.send_message(log_id))
            db.session.remove()

    threads = [threading.Thread(target=send, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == sorted([MessageStatus.SENT] * 2 + [MessageStatus.NO_CONSENT] * 4)
    assert len(sent(emulator.url, openid_of(app, user_id))) == 2
    assert remaining(app, user_id, "commission_settled") == 0
