"""Panel settings: every distribution and withdrawal setting through one owner-only form,
money in yuan and rates in percent, the service's refusals shown by the field, audited."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.panel_helpers import csrf_from, staff_client
from tests.shop import become_distributor
from tests.test_withdrawals import fund, withdraw
from wxdist.accounts.audit import decode
from wxdist.core.extensions import db
from wxdist.distribution.settings import BOOLEANS, EDITABLE, get_settings
from wxdist.models.staff import AuditEntry
from wxdist.panel.decimal_fields import hundredths_text

URL = "/panel/settings"
HUNDREDTHS = {name for name in EDITABLE if name.endswith(("_fen", "_bp"))}


def _current(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return asdict(get_settings())


def _form(app: Flask, **overrides: Any) -> dict[str, Any]:
    """The settings form as a browser submits it untouched, with `overrides`."""
    data: dict[str, Any] = {}
    for name, value in _current(app).items():
        if name in BOOLEANS:
            if value:
                data[name] = "y"
        elif name in HUNDREDTHS:
            data[name] = hundredths_text(value)
        elif name == "withdraw_methods":
            data[name] = value.split(",")
        else:
            data[name] = str(value)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _post(client: FlaskClient, app: Flask, **overrides: Any) -> Any:
    token = csrf_from(client.get(URL).get_data(as_text=True))
    return client.post(URL, data={**_form(app, **overrides), "csrf_token": token})


def _audits(app: Flask) -> list[AuditEntry]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "settings.update")
            ).all()
        )


def test_only_the_owner_opens_settings(app: Flask) -> None:
    assert staff_client(app, "owner").get(URL).status_code == 200
    for role in ("operator", "finance"):
        client = staff_client(app, role)
        assert client.get(URL).status_code == 403
        assert client.post(URL, data=_form(app)).status_code in (400, 403)
    assert _audits(app) == []


def test_the_form_shows_every_setting_in_yuan_and_percent(app: Flask) -> None:
    html = staff_client(app, "owner").get(URL).get_data(as_text=True)
    for name in EDITABLE:
        assert f'name="{name}"' in html, name
    for section in ("Programme", "Commission", "Binding", "Settlement", "Withdrawals"):
        assert f"<h2>{section}</h2>" in html
    assert re.search(r'name="level1_rate_bp"[^>]*value="10.00"', html)  # 1000 bp
    assert re.search(r'name="withdraw_min_fen"[^>]*value="1.00"', html)  # 100 fen


def test_changing_several_settings_saves_them_and_audits_only_the_changes(
    app: Flask, client: FlaskClient
) -> None:
    owner = staff_client(app, "owner")
    response = _post(
        owner,
        app,
        application_review="manual",
        level1_rate_bp="12.5",
        level2_rate_bp="2.25",
        freeze_days="3",
        withdraw_min_fen="2.00",
        withdraw_fee_bp="0.6",
        withdraw_methods=["wechat", "alipay"],
        payout_cycle="weekly",
        payout_weekday="5",
        self_purchase_commission="y",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    with app.app_context():
        settings = get_settings()
    assert settings.application_review == "manual"
    assert (settings.level1_rate_bp, settings.level2_rate_bp) == (1250, 225)
    assert settings.freeze_days == 3 and settings.withdraw_min_fen == 200
    assert settings.withdraw_fee_bp == 60 and settings.withdraw_methods == "wechat,alipay"
    assert (settings.payout_cycle, settings.payout_weekday) == ("weekly", 5)
    assert settings.self_purchase_commission is True

    (entry,) = _audits(app)
    assert decode(entry.before_json) == {
        "application_review": "auto",
        "level1_rate_bp": 1000,
        "level2_rate_bp": 500,
        "freeze_days": 7,
        "withdraw_min_fen": 100,
        "withdraw_fee_bp": 0,
        "withdraw_methods": "wechat,alipay,bank",
        "payout_cycle": "off",
        "payout_weekday": 1,
        "self_purchase_commission": False,
    }
    assert decode(entry.after_json)["level1_rate_bp"] == 1250
    assert set(decode(entry.after_json)) == set(decode(entry.before_json))

    # The mini-program sees it: applications now wait for review.
    applicant = become_distributor(client, "panel-settings-applicant")
    assert applicant["centre"]["status"] == "pending"

    # Submitting the page untouched changes nothing and writes no audit entry.
    assert _post(owner, app).status_code == 303
    assert len(_audits(app)) == 1


def test_withdrawal_limits_from_the_panel_apply_to_the_api(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    distributor = fund(client, app, emulator, run_jobs, "panel-limits", 5000)
    owner = staff_client(app, "owner")
    saved = _post(owner, app, withdraw_min_fen="20", withdraw_methods=["alipay"])
    assert saved.status_code == 303
    low = withdraw(
        client, distributor, 1999, "alipay", alipay_login="a@example.com", real_name="王五"
    )
    assert low.status_code == 400
    assert "2000" in low.get_json()["error"]["fields"]["amount_fen"]
    wechat = withdraw(client, distributor, 2500, "wechat")
    assert wechat.status_code == 400 and "method" in wechat.get_json()["error"]["fields"]


def test_refusals_are_shown_by_the_field_with_400_and_nothing_is_saved(app: Flask) -> None:
    owner = staff_client(app, "owner")
    before = _current(app)
    cases = [
        ({"depth": "3"}, "depth", "at most 2 levels"),
        ({"level1_rate_bp": "60", "level2_rate_bp": "50"}, "level2_rate_bp", "exceed 100 %"),
        ({"level1_rate_bp": "100.01"}, "level1_rate_bp", "at most 100 %"),
        ({"withdraw_min_fen": "1.234"}, "withdraw_min_fen", "at most 2 decimals"),
        ({"withdraw_min_fen": "30000"}, "withdraw_min_fen", "more than withdraw_max_fen"),
        ({"withdraw_methods": []}, "withdraw_methods", "a comma list"),
        ({"freeze_days": "", "depth": "2"}, "freeze_days", "required"),
        ({"withdraw_fee_bp": "60", "freeze_days": "1"}, "withdraw_fee_bp", "from 0 to 5000"),
    ]
    for overrides, name, message in cases:
        response = _post(owner, app, **overrides)
        assert response.status_code == 400, (overrides, response.status_code)
        html = response.get_data(as_text=True)
        # The message sits by its field: between the field's input and the next field.
        by_field = html.split(f'name="{name}"', 1)[1].split('class="field', 1)[0]
        assert 'class="error"' in by_field and message in by_field, (overrides, by_field)
    assert _current(app) == before
    assert _audits(app) == []
