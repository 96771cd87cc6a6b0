"""The panel's message page: the log filtered by status and notice, in Chinese and in
English, and the notice switches (audited), which stop a notice from being sent."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.notify_helpers import accept, log_rows, sent, user_of
from tests.panel_helpers import post_form, staff_client
from tests.shop import login
from wxdist.core import events
from wxdist.core.extensions import db
from wxdist.models import AuditEntry
from wxdist.notifications import switches

ZH = {"Accept-Language": "zh-CN"}


def _two_messages(client: FlaskClient, app: Flask, run_jobs) -> int:
    headers = login(client, "panel-messages")
    user_id = user_of(client, headers)
    accept(client, app, headers, "commission_settled")
    with app.app_context():
        for order_id in (1, 2):  # the first is sent, the second finds no consent
            events.commission_settled.send(
                "test", beneficiary_id=user_id, amount_fen=500, order_id=order_id
            )
    run_jobs()
    return user_id


def test_the_message_log_filters_and_reads_in_both_languages(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    _two_messages(client, app, run_jobs)
    staff = staff_client(app, "operator")
    zh = staff.get("/panel/messages", headers=ZH).get_data(as_text=True)
    assert "订阅消息" in zh and "佣金结算通知" in zh and "已发送" in zh and "无订阅次数" in zh
    en = staff.get("/panel/messages").get_data(as_text=True)
    assert "commission settled" in en and "no consent left, not sent" in en
    body = en.split("<h1>", 1)[1]
    leftover = re.sub(r"<pre class=\"json\">.*?</pre>", "", body, flags=re.S)
    assert not re.search(r"[\u4e00-\u9fff]", leftover)  # no Chinese but the messages' own
    only_sent = staff.get("/panel/messages?status=sent").get_data(as_text=True)
    assert only_sent.count("¥5.00") == 1
    none = staff.get("/panel/messages?kind=order_shipped").get_data(as_text=True)
    assert "No messages." in none
    assert staff.get("/panel/messages?status=bogus&page=x").status_code == 200
    finance = staff_client(app, "finance", "finance-messages")
    assert finance.get("/panel/messages").status_code == 403


def test_switching_a_notice_off_is_audited_and_stops_it(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    staff = staff_client(app, "owner")
    on = {
        "order_shipped": "y",
        "aftersale_result": "y",
        "withdrawal_finished": "y",
        "distributor_approved": "y",
    }  # commission_settled unticked: off
    response = post_form(staff, "/panel/messages", "/panel/messages/switches", **on)
    assert response.status_code == 302
    with app.app_context():
        assert switches.all_switches()["commission_settled"] is False
        assert switches.all_switches()["order_shipped"] is True
        entry = db.session.query(AuditEntry).filter_by(action="notices.switch").one()
        assert "commission_settled" in entry.after_json
    user_id = _two_messages(client, app, run_jobs)
    assert log_rows(app, user_id) == [] and sent(emulator.url) == []
    page = staff.get("/panel/messages", headers=ZH).get_data(as_text=True)
    assert 'name="commission_settled"' in page
    refused = staff.post("/panel/messages/switches", data={"order_shipped": "y"})
    assert refused.status_code == 400  # no CSRF token


def test_the_page_lists_what_wechat_pushed(client: FlaskClient, app: Flask) -> None:
    from wxdist.notifications import push

    with app.app_context():
        push.handle({"Event": "trade_manage_remind_shipping", "merchant_trade_no": "nope"})
    staff = staff_client(app, "owner", "owner-pushes")
    zh = staff.get("/panel/messages", headers=ZH).get_data(as_text=True)
    assert "微信提醒发货" in zh and "已记录提醒" in zh
    en = staff.get("/panel/messages").get_data(as_text=True)
    assert "WeChat reminds us to ship" in en and "reminder recorded" in en
