"""The distributors pages: review of applications, level, disable/enable and a change of
referrer, through the real forms, each audited; a cycle is refused and the graph stays
sound."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.panel_helpers import post_form, staff_client
from tests.shop import become_distributor, login, set_settings
from tests.test_withdrawals import clean
from wxdist.accounts.audit import decode
from wxdist.core.extensions import db
from wxdist.distribution.distributors import LevelSpec, create_level
from wxdist.models import AuditEntry, Distributor, DistributorAccount, Referral


def audits(app: Flask, action: str, user_id: int) -> list[AuditEntry]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == action, AuditEntry.target_id == str(user_id)
                )
            )
        )


def distributor(app: Flask, user_id: int) -> Distributor:
    with app.app_context():
        row = db.session.get(Distributor, user_id)
        db.session.expunge(row)
        return row


def referral(app: Flask, user_id: int) -> tuple[int | None, int | None, str, int]:
    with app.app_context():
        row = db.session.get(Referral, user_id)
        return (row.parent_id, row.grandparent_id, row.path, row.depth)


def test_operators_and_owners_open_the_pages_and_finance_is_refused(
    client: FlaskClient, app: Flask
) -> None:
    someone = become_distributor(client, "roles-d")
    pages = ["/panel/distributors", f"/panel/distributors/{someone['user_id']}"]
    for role, expected in (("operator", 200), ("owner", 200), ("finance", 403)):
        staff = staff_client(app, role)
        for url in pages:
            assert staff.get(url).status_code == expected, (role, url)
    assert staff_client(app, "operator", "op2").get("/panel/distributors/999999").status_code == 404


def test_applications_are_approved_or_rejected_with_a_reason(
    client: FlaskClient, app: Flask
) -> None:
    set_settings(app, distributor_mode="application", application_review="manual")
    first = become_distributor(client, "apply-1", real_name="张三", phone="13800138001")
    second = become_distributor(client, "apply-2", real_name="赵六", phone="13800138002")
    operator = staff_client(app, "operator")
    pending = operator.get("/panel/distributors?status=pending").get_data(as_text=True)
    assert "张三" in pending and "赵六" in pending and "Approve" in pending
    assert "张三" in operator.get("/panel/distributors?q=张").get_data(as_text=True)
    by_phone = operator.get("/panel/distributors?q=13800138002").get_data(as_text=True)
    assert "赵六" in by_phone and "张三" not in by_phone
    by_id = operator.get(f"/panel/distributors?q={first['user_id']}").get_data(as_text=True)
    assert "张三" in by_id and "赵六" not in by_id

    list_url = "/panel/distributors?status=pending"
    approve = post_form(
        operator, list_url, f"/panel/distributors/{first['user_id']}/review", decision="approve"
    )
    assert approve.status_code == 303
    assert distributor(app, first["user_id"]).status == "approved"
    with app.app_context():
        assert db.session.get(DistributorAccount, first["user_id"]) is not None

    review_url = f"/panel/distributors/{second['user_id']}/review"
    refused = post_form(operator, list_url, review_url, decision="reject", note="  ")
    assert refused.status_code == 400, refused.get_data(as_text=True)[:3000]
    assert "A rejection needs a reason" in refused.get_data(as_text=True)
    assert distributor(app, second["user_id"]).status == "pending"
    assert audits(app, "distributor.review", second["user_id"]) == []

    rejected = post_form(operator, list_url, review_url, decision="reject", note="资料不全")
    assert rejected.status_code == 303
    row = distributor(app, second["user_id"])
    assert (row.status, row.review_note) == ("rejected", "资料不全")
    # A second review of a decided application is a conflict, and changes nothing.
    again = post_form(operator, list_url, review_url, decision="approve")
    assert again.status_code == 409
    assert distributor(app, second["user_id"]).status == "rejected"

    (entry,) = audits(app, "distributor.review", second["user_id"])
    assert decode(entry.before_json) == {"status": "pending"}
    assert decode(entry.after_json) == {"status": "rejected", "review_note": "资料不全"}
    assert entry.staff_username == "operator-user"
    (entry,) = audits(app, "distributor.review", first["user_id"])
    assert decode(entry.after_json)["status"] == "approved"


def test_a_level_is_set_and_a_distributor_disabled_and_enabled(
    client: FlaskClient, app: Flask
) -> None:
    with app.app_context():
        gold = create_level(LevelSpec(name="Gold", rank=1, level1_rate_bp=1500, level2_rate_bp=0))
        gold_id = gold.id
    someone = become_distributor(client, "lvl-d")
    user_id = someone["user_id"]
    page = f"/panel/distributors/{user_id}"
    operator = staff_client(app, "operator")
    assert "Gold (rank 1)" in operator.get(page).get_data(as_text=True)

    bad = post_form(operator, page, f"{page}/level", level_id="999999")
    assert bad.status_code == 400 and "Not a valid choice" in bad.get_data(as_text=True)
    assert distributor(app, user_id).level_id is None

    assert post_form(operator, page, f"{page}/level", level_id=str(gold_id)).status_code == 303
    assert distributor(app, user_id).level_id == gold_id
    assert "Gold" in operator.get(page).get_data(as_text=True)
    (entry,) = audits(app, "distributor.level", user_id)
    assert decode(entry.before_json) == {"level_id": None, "level": ""}
    assert decode(entry.after_json) == {"level_id": gold_id, "level": "Gold"}

    disabled = post_form(operator, page, f"{page}/status", action="disable", note="刷单")
    assert disabled.status_code == 303
    assert distributor(app, user_id).status == "disabled"
    assert "Enable distributor" in operator.get(page).get_data(as_text=True)
    twice = post_form(operator, page, f"{page}/status", action="disable")
    assert twice.status_code == 409
    assert post_form(operator, page, f"{page}/status", action="enable").status_code == 303
    assert distributor(app, user_id).status == "approved"
    (off,) = audits(app, "distributor.disable", user_id)
    (on,) = audits(app, "distributor.enable", user_id)
    assert decode(off.before_json) == {"status": "approved"}
    assert decode(off.after_json) == {"status": "disabled", "note": "刷单"}
    assert decode(on.after_json)["status"] == "approved"


def test_the_referrer_changes_with_the_team_and_a_cycle_is_refused(
    client: FlaskClient, app: Flask
) -> None:
    top = become_distributor(client, "ref-top")
    login(client, "ref-mid", scene=top["centre"]["scene"])
    mid = become_distributor(client, "ref-mid")
    login(client, "ref-leaf", scene=mid["centre"]["scene"])
    leaf = become_distributor(client, "ref-leaf")
    other = become_distributor(client, "ref-other")
    t, m, lf, o = (x["user_id"] for x in (top, mid, leaf, other))
    assert referral(app, lf) == (m, t, f"/{t}/{m}/", 2)
    operator = staff_client(app, "operator")

    page = f"/panel/distributors/{m}"
    moved = post_form(operator, page, f"{page}/referrer", referrer_id=str(o))
    assert moved.status_code == 303
    assert referral(app, m) == (o, None, f"/{o}/", 1)
    assert referral(app, lf) == (m, o, f"/{o}/{m}/", 2)  # the team came along
    html = operator.get(page).get_data(as_text=True)
    assert f'href="/panel/distributors/{o}"' in html
    listing = operator.get(f"/panel/distributors?q={o}").get_data(as_text=True)
    assert '<td class="num">1</td>' in listing  # other's direct team: mid
    (entry,) = audits(app, "distributor.referrer", m)
    assert decode(entry.before_json)["parent_id"] == t
    assert decode(entry.after_json) == {"parent_id": o, "grandparent_id": None, "path": f"/{o}/"}
    clean(app)

    # other → leaf would close the ring other → mid → leaf → other.
    page = f"/panel/distributors/{o}"
    cycle = post_form(operator, page, f"{page}/referrer", referrer_id=str(lf))
    assert cycle.status_code == 400
    body = cycle.get_data(as_text=True)
    assert "cycle" in body and 'name="referrer_id"' in body
    selfish = post_form(operator, page, f"{page}/referrer", referrer_id=str(o))
    assert selfish.status_code == 400 and "cannot be the user" in selfish.get_data(as_text=True)
    garbage = post_form(operator, page, f"{page}/referrer", referrer_id="abc")
    assert garbage.status_code == 400
    with app.app_context():
        assert db.session.get(Referral, o) is None  # still a root, never written
    assert referral(app, lf) == (m, o, f"/{o}/{m}/", 2)
    assert audits(app, "distributor.referrer", o) == []
    clean(app)

    # Removing the referrer makes mid a root; leaf follows.
    page = f"/panel/distributors/{m}"
    assert post_form(operator, page, f"{page}/referrer", referrer_id="").status_code == 303
    assert referral(app, m) == (None, None, "/", 0)
    assert referral(app, lf) == (m, None, f"/{m}/", 1)
    clean(app)
