"""The panel's webhooks pages: the owner adds an endpoint and sees its secret once (then
only its last characters), a wrong address is named beside its field, a failed delivery
shows its attempts and can be sent again, an endpoint is turned off and on, a rotation
shows the new secret while the old one keeps signing; every change is audited. Staff
other than the owner are refused."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.panel_helpers import post_form, staff_client
from wxdist.core.extensions import db
from wxdist.integrations import delivery, outbox
from wxdist.models import AuditEntry, DeliveryState, WebhookDelivery, WebhookEndpoint

PAGE = "/panel/webhooks"
CLOSED = "http://127.0.0.1:9/hooks"  # nothing listens: a refused connection


def _secret(html: str) -> str:
    found = re.search(r"whsec_[A-Za-z0-9+/=]+", html)
    assert found, "no secret on the page"
    return found.group(0)


def test_the_owner_adds_an_endpoint_and_sees_its_secret_once(app: Flask) -> None:
    owner = staff_client(app, "owner")
    made = post_form(owner, PAGE, PAGE, url=CLOSED, description="金蝶 ERP",
                     events=["order.paid", "refund.succeeded"])  # fmt: skip
    assert made.status_code == 200
    secret = _secret(made.get_data(as_text=True))
    listing = owner.get(PAGE).get_data(as_text=True)
    assert CLOSED in listing and "金蝶 ERP" in listing
    assert secret not in listing and f"…{secret[-4:]}" in listing
    with app.app_context():
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        assert endpoint.events == ["order.paid", "refund.succeeded"]
        assert db.session.scalars(select(AuditEntry.action)).all() == ["webhook.create"]
    wrong = post_form(owner, PAGE, PAGE, url="erp.example.com", events=["order.paid"])
    assert wrong.status_code == 400
    assert "Not a web address" in wrong.get_data(as_text=True)
    for role in ("operator", "finance"):
        assert staff_client(app, role, f"{role}-hooks").get(PAGE).status_code == 403


def test_a_failed_delivery_is_logged_and_sent_again_on_request(app: Flask) -> None:
    owner = staff_client(app, "owner")
    post_form(owner, PAGE, PAGE, url=CLOSED, events=["*"])
    with app.app_context():
        endpoint_id = db.session.scalars(select(WebhookEndpoint.id)).one()
        outbox.record("order.paid", {"order_no": "WXPANEL"})
        db.session.commit()
        delivery.deliver_batch()  # the receiver is not there: refused, retried later
        found = db.session.scalars(select(WebhookDelivery)).one()
        assert found.state == DeliveryState.PENDING and found.last_status is None
        delivery_id = found.id
    detail = f"{PAGE}/{endpoint_id}"
    page = owner.get(detail).get_data(as_text=True)
    assert "ConnectionError" in page and "WXPANEL" not in page  # the error, not the body
    sent = post_form(owner, detail, f"{PAGE}/deliveries/{delivery_id}/replay")
    assert sent.status_code == 303
    with app.app_context():
        assert delivery.is_due()  # due now, whatever its backoff said
    off = post_form(owner, detail, f"{detail}/enabled", action="disable")
    assert off.status_code == 303
    with app.app_context():
        assert not db.session.get(WebhookEndpoint, endpoint_id).enabled
        assert db.session.get(WebhookDelivery, delivery_id).state == DeliveryState.FAILED
    refused = post_form(owner, detail, f"{PAGE}/deliveries/{delivery_id}/replay")
    assert refused.status_code == 303
    assert "turn it on before sending again" in owner.get(detail).get_data(as_text=True)
    with app.app_context():  # still failed, not due: an endpoint that is off gets nothing
        assert db.session.get(WebhookDelivery, delivery_id).state == DeliveryState.FAILED
        assert not delivery.is_due()
    post_form(owner, detail, f"{detail}/enabled", action="enable")
    rotated = post_form(owner, detail, f"{detail}/rotate", overlap_hours="24")
    assert rotated.status_code == 200 and _secret(rotated.get_data(as_text=True))
    assert owner.get(detail).get_data(as_text=True).count("…") >= 2  # old and new sign
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["webhook.create", "webhook.replay", "webhook.disable", "webhook.enable",
                       "webhook.rotate"]  # fmt: skip


def test_an_endpoint_edit_keeps_what_was_chosen_and_names_a_bad_event(app: Flask) -> Any:
    owner = staff_client(app, "owner")
    post_form(owner, PAGE, PAGE, url=CLOSED, events=["order.paid"])
    with app.app_context():
        endpoint_id = db.session.scalars(select(WebhookEndpoint.id)).one()
    detail = f"{PAGE}/{endpoint_id}"
    bad = post_form(owner, detail, detail, url=CLOSED, events=["order.teleported"])
    assert bad.status_code == 400 and "Choose at least one event" in bad.get_data(as_text=True)
    ok = post_form(owner, detail, detail, url="https://erp.example.com/in", events=["*"])
    assert ok.status_code == 303
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert (endpoint.url, endpoint.events) == ("https://erp.example.com/in", ["*"])
