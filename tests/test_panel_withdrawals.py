"""The panel's withdrawal pages: review one or many, retry a failed payout, settle bank
transfers, export; every action audited and the ledger still reconciling."""

from __future__ import annotations

import csv
import io

import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.panel_helpers import csrf_from, post_form, staff_client
from tests.shop import set_settings
from tests.test_withdrawals import balances, clean, emulator_stats, fund, status_of, withdraw
from wxdist.core.extensions import db
from wxdist.models import LedgerEntry, Withdrawal
from wxdist.models.staff import AuditEntry

ALIPAY = {"alipay_login": "alice@example.com", "real_name": "王五"}
BANK = {"bank_name": "招商银行", "card_number": "6225880212345678", "holder": "王五"}


def page_of(client: FlaskClient, withdrawal_id: int) -> str:
    return f"/panel/withdrawals/{withdrawal_id}"


def audit_actions(app: Flask, withdrawal_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(AuditEntry.action)
                .where(
                    AuditEntry.target_type == "withdrawal",
                    AuditEntry.target_id == str(withdrawal_id),
                )
                .order_by(AuditEntry.id)
            )
        )


def test_finance_and_owner_open_the_pages_an_operator_cannot(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "pw-roles", 5000)
    w = withdraw(client, d, 1000).get_json()
    urls = ["/panel/withdrawals", f"/panel/withdrawals/{w['id']}", "/panel/withdrawals.csv"]
    finance = staff_client(app, "finance")
    owner = staff_client(app, "owner")
    operator = staff_client(app, "operator")
    for url in urls:
        assert finance.get(url).status_code == 200, url
        assert owner.get(url).status_code == 200, url
        assert operator.get(url).status_code == 403, url
    listing = finance.get("/panel/withdrawals").get_data(as_text=True)
    assert "王五" in listing and "¥10.00" in listing and "微信零钱" in listing
    assert "waiting for review" in listing
    # filters and search never fail on odd input
    for query in ("?status=nonsense&method=x&page=-3", "?q=WDNOPE", f"?q={d['user_id']}"):
        assert finance.get("/panel/withdrawals" + query).status_code == 200
    found = finance.get(f"/panel/withdrawals?q={w['id']}&status=pending_review&method=wechat")
    assert f'value="{w["id"]}"' in found.get_data(as_text=True)
    empty = finance.get("/panel/withdrawals?status=paid&method=bank").get_data(as_text=True)
    assert "No withdrawals match." in empty


def test_approve_in_the_panel_pays_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "pw-ok", 5000)
    set_settings(app, wechat_payout_api="v2")
    w = withdraw(client, d, 3000).get_json()
    finance = staff_client(app, "finance")
    url = page_of(finance, w["id"])
    response = post_form(finance, url, f"{url}/approve", note="ok")
    assert response.status_code == 303
    run_jobs()
    assert status_of(client, d, w["id"])["status"] == "paid"
    with app.app_context():
        payout_no = db.session.get(Withdrawal, w["id"]).payout_no
    assert emulator_stats(emulator, "wechat")["transfers_paid"] == {payout_no: 1}
    detail = finance.get(url).get_data(as_text=True)
    assert "s-paid" in detail and f"w{w['id']}:paid" in detail and f"w{w['id']}:hold:out" in detail
    # approving again is refused and changes nothing
    again = post_form(finance, url, f"{url}/approve")
    assert again.status_code == 409
    assert audit_actions(app, w["id"]) == ["withdrawal.approve"]
    clean(app)


def test_reject_needs_a_reason_and_returns_the_money(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "pw-rej", 5000)
    w = withdraw(client, d, 2000).get_json()
    finance = staff_client(app, "finance")
    url = page_of(finance, w["id"])
    refused = post_form(finance, url, f"{url}/reject", reason="   ")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "reason" in html.lower() and "Tell the distributor why" in html
    assert status_of(client, d, w["id"])["status"] == "pending_review"
    assert balances(client, d)["withdrawing_fen"] == 2000
    assert audit_actions(app, w["id"]) == []

    assert post_form(finance, url, f"{url}/reject", reason="账户姓名不符").status_code == 303
    seen = status_of(client, d, w["id"])  # what the distributor sees in the mini-program
    assert seen["status"] == "rejected" and seen["failure_reason"] == "账户姓名不符"
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 5000, "withdrawing_fen": 0}
    assert audit_actions(app, w["id"]) == ["withdrawal.reject"]
    assert "账户姓名不符" in finance.get(url).get_data(as_text=True)
    clean(app)


def test_bulk_approve_and_bulk_reject(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "pw-bulk", 9000)
    set_settings(app, wechat_payout_api="v2")
    ids = [withdraw(client, d, 1000).get_json()["id"] for _ in range(5)]
    finance = staff_client(app, "finance")
    listing = "/panel/withdrawals?status=pending_review"
    # nothing ticked, or a rejection without reason: 400 naming the field, nothing changed
    none = post_form(finance, listing, "/panel/withdrawals/bulk", action="approve")
    assert none.status_code == 400 and "(ids)" in none.get_data(as_text=True)
    no_reason = post_form(finance, listing, "/panel/withdrawals/bulk", action="reject", ids=ids[3:])
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.get_data(as_text=True)
    assert all(status_of(client, d, i)["status"] == "pending_review" for i in ids)

    approved = post_form(finance, listing, "/panel/withdrawals/bulk", action="approve", ids=ids[:3])
    assert approved.status_code == 303
    run_jobs()
    assert [status_of(client, d, i)["status"] for i in ids[:3]] == ["paid"] * 3
    assert len(emulator_stats(emulator, "wechat")["transfers_paid"]) == 3

    rejected = post_form(
        finance,
        listing,
        "/panel/withdrawals/bulk",
        action="reject",
        ids=ids[2:],  # the first is already paid: skipped
        reason="资料不全",
    )
    assert rejected.status_code == 303
    assert [status_of(client, d, i)["status"] for i in ids[3:]] == ["rejected"] * 2
    assert status_of(client, d, ids[2])["status"] == "paid"
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 6000, "withdrawing_fen": 0}
    assert [audit_actions(app, i) for i in ids] == [["withdrawal.approve"]] * 3 + [
        ["withdrawal.reject"]
    ] * 2
    clean(app)


def test_a_definitely_failed_payout_is_retried_with_a_new_number(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "pw-retry", 5000)
    w = withdraw(client, d, 2000, "alipay", **ALIPAY).get_json()
    requests.post(
        f"{emulator.url}/_emulator/faults",
        json={
            "key": "alipay.fund.trans.uni.transfer",
            "mode": "fail",
            "code": "PAYEE_ACCOUNT_STATUS_ERROR",
            "message": "收款账户状态异常",
        },
        timeout=5,
    )
    finance = staff_client(app, "finance")
    url = page_of(finance, w["id"])
    assert post_form(finance, url, f"{url}/approve").status_code == 303
    run_jobs()
    failed = status_of(client, d, w["id"])
    assert failed["status"] == "failed" and "PAYEE_ACCOUNT_STATUS_ERROR" in failed["failure_reason"]
    assert balances(client, d)["available_fen"] == 5000
    detail = finance.get(url).get_data(as_text=True)
    assert "PAYEE_ACCOUNT_STATUS_ERROR" in detail and "Retry payout" in detail
    with app.app_context():
        first_no = db.session.get(Withdrawal, w["id"]).payout_no

    token_page = finance.get(url).get_data(as_text=True)
    assert post_form(finance, url, f"{url}/retry").status_code == 303
    # a double click (the same page's form posted twice) retries once
    second = finance.post(f"{url}/retry", data={"csrf_token": csrf_from(token_page)})
    assert second.status_code == 409
    run_jobs()
    paid = status_of(client, d, w["id"])
    assert paid["status"] == "paid" and paid["failure_reason"] is None
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 3000, "withdrawing_fen": 0}
    with app.app_context():
        row = db.session.get(Withdrawal, w["id"])
        assert row.payout_no != first_no and row.retries == 1
        keys = set(
            db.session.scalars(
                db.select(LedgerEntry.key).where(LedgerEntry.key.like(f"w{w['id']}:%"))
            )
        )
    n = w["id"]
    assert {f"w{n}:retry1:hold:out", f"w{n}:retry1:hold:in", f"w{n}:retry1:paid"} <= keys
    assert {f"w{n}:return:out", f"w{n}:return:in"} <= keys
    payees = emulator_stats(emulator, "alipay")
    assert row.payout_no in str(payees) and first_no not in str(payees.get("paid", ""))
    assert audit_actions(app, w["id"]) == ["withdrawal.approve", "withdrawal.retry"]
    clean(app)


def test_a_retry_needs_the_money_still_available(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "pw-spent", 3000)
    w = withdraw(client, d, 2000, "alipay", **ALIPAY).get_json()
    requests.post(
        f"{emulator.url}/_emulator/faults",
        json={"key": "alipay.fund.trans.uni.transfer", "mode": "fail", "code": "PAYEE_NOT_EXIST"},
        timeout=5,
    )
    finance = staff_client(app, "finance")
    url = page_of(finance, w["id"])
    post_form(finance, url, f"{url}/approve")
    run_jobs()
    assert status_of(client, d, w["id"])["status"] == "failed"
    assert withdraw(client, d, 2500).status_code == 201  # the distributor spent it meanwhile
    refused = post_form(finance, url, f"{url}/retry")
    assert refused.status_code == 409 and "no longer has" in refused.get_data(as_text=True)
    assert status_of(client, d, w["id"])["status"] == "failed"
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 500, "withdrawing_fen": 2500}
    assert audit_actions(app, w["id"]) == ["withdrawal.approve"]
    clean(app)


def test_bank_transfers_are_marked_paid_or_failed_by_hand(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "pw-bank", 5000)
    paid_w = withdraw(client, d, 1000, "bank", **BANK).get_json()
    failed_w = withdraw(client, d, 1500, "bank", **BANK).get_json()
    finance = staff_client(app, "finance")
    listing = "/panel/withdrawals?method=bank"
    both = [paid_w["id"], failed_w["id"]]
    bulk = post_form(finance, listing, "/panel/withdrawals/bulk", action="approve", ids=both)
    assert bulk.status_code == 303
    run_jobs()
    assert status_of(client, d, paid_w["id"])["status"] == "approved"  # staff pay by hand

    url = page_of(finance, paid_w["id"])
    missing = post_form(finance, url, f"{url}/bank-paid", reference="")
    assert missing.status_code == 400 and "reference is required" in missing.get_data(as_text=True)
    assert status_of(client, d, paid_w["id"])["status"] == "approved"
    done = post_form(finance, url, f"{url}/bank-paid", reference="CMB20261126001")
    assert done.status_code == 303
    assert status_of(client, d, paid_w["id"])["status"] == "paid"
    assert "CMB20261126001" in finance.get(url).get_data(as_text=True)

    url2 = page_of(finance, failed_w["id"])
    no_reason = post_form(finance, url2, f"{url2}/bank-failed", reason="")
    assert no_reason.status_code == 400
    assert post_form(finance, url2, f"{url2}/bank-failed", reason="户名不符").status_code == 303
    assert status_of(client, d, failed_w["id"])["failure_reason"] == "户名不符"
    # a bank withdrawal is never "retried" through a gateway
    assert post_form(finance, url2, f"{url2}/retry").status_code == 404
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 4000, "withdrawing_fen": 0}
    assert audit_actions(app, paid_w["id"]) == ["withdrawal.approve", "withdrawal.bank_paid"]
    assert audit_actions(app, failed_w["id"]) == ["withdrawal.approve", "withdrawal.bank_failed"]
    with app.app_context():
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "withdrawal.bank_paid")
        )
        assert '"status": "approved"' in entry.before_json
        assert '"status": "paid"' in entry.after_json and "CMB20261126001" in entry.after_json
    clean(app)


def test_the_csv_has_the_filtered_rows_and_only_masked_accounts(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "pw-csv", 5000)
    withdraw(client, d, 1234, "alipay", **ALIPAY)
    withdraw(client, d, 1000, "bank", **BANK)
    finance = staff_client(app, "finance")
    response = finance.get("/panel/withdrawals.csv?method=alipay")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["ID", "Created", "User ID", "Real name", "Amount"]
    assert len(rows) == 2
    assert (rows[1][4], rows[1][7], rows[1][8]) == ("12.34", "alipay", "支付宝 al***@example.com")
    assert "alice@example.com" not in text
    everything = finance.get("/panel/withdrawals.csv").get_data(as_text=True)
    assert "6225880212345678" not in everything and "5678" in everything
    assert len(list(csv.reader(io.StringIO(everything.lstrip("\ufeff"))))) == 3
