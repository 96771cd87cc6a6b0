"""The panel's open API page: the owner makes a key and sees its secret once (then only
its last characters), the key signs requests, a wrong form is named beside its field, a
revoked key is refused from then on; every change is audited; other staff are refused."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from tests.open_api_client import Erp
from tests.panel_helpers import post_form, staff_client
from wxdist.core.extensions import db
from wxdist.models import ApiKey, AuditEntry

PAGE = "/panel/api-keys"


def _shown(html: str) -> tuple[str, str]:
    key_id = re.search(r"wxk_[0-9a-f]{24}", html)
    secret = re.search(r"wxsk_[A-Za-z0-9_-]{43}", html)
    assert key_id and secret, "no key on the page"
    return key_id.group(0), secret.group(0)


def test_the_owner_makes_a_key_that_signs_and_revokes_it(app: Flask) -> None:
    owner = staff_client(app, "owner")
    made = post_form(owner, PAGE, PAGE, name="金蝶云星空", rate_per_minute="120",
                     scopes=["orders:read", "products:read"])  # fmt: skip
    assert made.status_code == 200
    key_id, secret = _shown(made.get_data(as_text=True))
    listing = owner.get(PAGE).get_data(as_text=True)
    assert key_id in listing and "金蝶云星空" in listing
    assert secret not in listing and f"…{secret[-4:]}" in listing
    with app.app_context():
        key = db.session.scalars(select(ApiKey)).one()
        assert (key.scopes, key.rate_per_minute) == (["orders:read", "products:read"], 120)
        assert secret not in key.secret_sealed  # sealed at rest
    erp = Erp(app.test_client(), key_id, secret)
    assert erp.get("/products").status_code == 200
    assert erp.get("/orders").status_code == 200
    assert erp.post("/stock", {"request_id": "x", "items": []}).status_code == 403
    revoked = post_form(owner, PAGE, f"{PAGE}/{key.id}/revoke")
    assert revoked.status_code == 303
    refused = erp.get("/products")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (401, "key_revoked")
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["api_key.create", "api_key.revoke"]


def test_a_wrong_key_form_names_its_field_and_only_the_owner_comes_in(app: Flask) -> None:
    owner = staff_client(app, "owner")
    wrong = post_form(owner, PAGE, PAGE, name="ERP", rate_per_minute="10", scopes=[])
    assert wrong.status_code == 400
    assert "choose at least one of the listed scopes" in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ApiKey)).all() == []
    for role in ("operator", "finance"):
        assert staff_client(app, role, f"{role}-keys").get(PAGE).status_code == 403
