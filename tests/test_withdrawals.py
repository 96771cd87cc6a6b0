"""Withdrawals end to end: request, review, payout through the emulated gateways, and
every failure path ending with the money paid once or back in the balance."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from payments.emulator import EmulatorServer
from tests.shop import centre, fund, login, set_settings, withdraw
from wxdist.core.extensions import db
from wxdist.models import Withdrawal
from wxdist.models.types import utcnow
from wxdist.money import payouts, withdrawals


def balances(client: FlaskClient, who: dict) -> dict[str, int]:
    return centre(client, who["headers"])["balances"]


def status_of(client: FlaskClient, who: dict, withdrawal_id: int) -> dict:
    response = client.get(
        f"/api/v1/distributor/withdrawals/{withdrawal_id}", headers=who["headers"]
    )
    assert response.status_code == 200
    return response.get_json()


def wait_for(client: FlaskClient, who: dict, withdrawal_id: int, status: str) -> dict:
    import time

    deadline = time.monotonic() + 10
    while True:
        current = status_of(client, who, withdrawal_id)
        if current["status"] == status or time.monotonic() > deadline:
            assert current["status"] == status, current
            return current
        time.sleep(0.05)


def emulator_stats(emulator: EmulatorServer, path: str) -> dict:
    return requests.get(f"{emulator.url}/_emulator/{path}/stats", timeout=5).json()


def clean(app: Flask) -> None:
    """`flask reconcile` finds nothing: balances equal their ledger entries."""
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0 and "clean" in result.output, result.output


def test_a_v2_withdrawal_is_reviewed_paid_once_and_reconciles(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "wd-v2", 5000)
    set_settings(app, wechat_payout_api="v2", withdraw_fee_bp=100, withdraw_min_fee_fen=10)
    response = withdraw(client, d, 3000)
    assert response.status_code == 201, response.get_json()
    w = response.get_json()
    assert (w["status"], w["fee_fen"], w["net_fen"], w["account"]) == (
        "pending_review",
        30,
        2970,
        "微信零钱",
    )
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 2000, "withdrawing_fen": 3000}
    with app.app_context():
        withdrawals.approve(w["id"])
    run_jobs()
    paid = status_of(client, d, w["id"])
    assert paid["status"] == "paid" and paid["paid_at"]
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 2000, "withdrawing_fen": 0}
    with app.app_context():
        payout_no = db.session.get(Withdrawal, w["id"]).payout_no
        assert payouts.pay_one(w["id"]) is payouts.Result.SKIPPED  # a second try does nothing
    assert emulator_stats(emulator, "wechat")["transfers_paid"] == {payout_no: 1}
    clean(app)


def test_a_v3_bill_waits_for_the_distributor_to_confirm(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "wd-v3", 5000)
    set_settings(app, wechat_payout_api="v3", withdraw_auto_approve_below_fen=10_000)
    w = withdraw(client, d, 1000, real_name="").get_json()  # auto-approved below 100 元
    run_jobs()
    waiting = status_of(client, d, w["id"])
    assert waiting["status"] == "waiting_confirm"
    assert (
        waiting["confirm"]["package"]
        and waiting["confirm"]["mch_id"] == app.config["WECHAT_MCH_ID"]
    )
    with app.app_context():
        payout_no = db.session.get(Withdrawal, w["id"]).payout_no
    requests.post(
        f"{emulator.url}/_emulator/wechat/v3/confirm", json={"out_bill_no": payout_no}, timeout=10
    )
    assert status_of(client, d, w["id"])["status"] == "paid"  # the signed, encrypted notify
    assert balances(client, d)["withdrawing_fen"] == 0
    assert emulator_stats(emulator, "wechat/v3")["paid"] == {payout_no: 1}
    clean(app)


def test_an_unconfirmed_v3_bill_is_cancelled_and_the_money_returns(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "wd-exp", 5000)
    set_settings(app, wechat_payout_api="v3")
    w = withdraw(client, d, 1000).get_json()
    with app.app_context():
        withdrawals.approve(w["id"])
    run_jobs()
    assert status_of(client, d, w["id"])["status"] == "waiting_confirm"
    with app.app_context():
        row = db.session.get(Withdrawal, w["id"])
        row.reviewed_at = utcnow() - timedelta(hours=25)  # past the confirmation window
        db.session.commit()
        assert payouts.expire_unconfirmed() == 1  # cancel requested: CANCELING
    ended = wait_for(client, d, w["id"], "failed")  # the CANCELLED notify returns the money
    assert ended["status"] == "failed" and "confirm" in ended["failure_reason"]
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 5000, "withdrawing_fen": 0}
    clean(app)


def test_reject_and_cancel_return_the_money(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "wd-rej", 5000)
    first = withdraw(client, d, 1000).get_json()
    second = withdraw(client, d, 1500).get_json()
    with app.app_context():
        from wxdist.core.errors import ApiError

        with pytest.raises(ApiError):
            withdrawals.reject(first["id"], "")
        withdrawals.reject(first["id"], "账户信息不符")
    rejected = status_of(client, d, first["id"])
    assert rejected["status"] == "rejected" and rejected["review_note"] == "账户信息不符"
    assert (
        client.post(
            f"/api/v1/distributor/withdrawals/{second['id']}/cancel", headers=d["headers"]
        ).status_code
        == 200
    )
    again = client.post(
        f"/api/v1/distributor/withdrawals/{second['id']}/cancel", headers=d["headers"]
    )
    assert again.status_code == 409
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 5000, "withdrawing_fen": 0}
    clean(app)


def test_a_definite_alipay_failure_returns_the_money_with_the_reason(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "wd-ali", 5000)
    good = withdraw(
        client, d, 1000, "alipay", alipay_login="alice@example.com", real_name="王五"
    ).get_json()
    bad = withdraw(
        client, d, 1000, "alipay", alipay_login="alice@example.com", real_name="错误姓名"
    ).get_json()
    assert good["account"] == "支付宝 al***@example.com"
    with app.app_context():
        withdrawals.approve_many([good["id"], bad["id"]])
    run_jobs()
    assert status_of(client, d, good["id"])["status"] == "paid"
    failed = status_of(client, d, bad["id"])
    assert failed["status"] == "failed" and "PAYEE_USER_INFO_ERROR" in failed["failure_reason"]
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 4000, "withdrawing_fen": 0}
    with app.app_context():  # the account is stored encrypted
        row = db.session.get(Withdrawal, good["id"])
        assert "alice" not in row.account_encrypted
    clean(app)


@pytest.mark.parametrize("fault", ["timeout", "error500_after", "error500"])
def test_an_unknown_result_is_asked_about_then_paid_exactly_once(
    fault: str, client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, f"wd-{fault}", 5000)
    set_settings(app, wechat_payout_api="v2")
    w = withdraw(client, d, 2000).get_json()
    requests.post(
        f"{emulator.url}/_emulator/faults",
        json={
            "key": "/mmpaymkttransfers/promotion/transfers",
            "mode": fault,
            "times": 1,
            "seconds": 4,
        },
        timeout=5,
    )
    with app.app_context():
        withdrawals.approve(w["id"])  # inline: the payout runs here; RQ: it is queued
    run_jobs()
    with app.app_context():
        row = db.session.get(Withdrawal, w["id"])
        assert row.status == "paying"  # result unknown: not retried blind, not refunded
        row.lease_until = utcnow() - timedelta(seconds=1)  # the lease runs out
        db.session.commit()
        assert payouts.pay_one(w["id"]) is payouts.Result.PAID  # asks first, then settles
        payout_no = row.payout_no
    paid_count = emulator_stats(emulator, "wechat")["transfers_paid"]
    assert paid_count == {payout_no: 1}
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 3000, "withdrawing_fen": 0}
    clean(app)


def test_limits_methods_and_balance_are_enforced(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "wd-lim", 5000)
    set_settings(
        app,
        withdraw_min_fen=200,
        withdraw_max_fen=3000,
        withdraw_daily_max_fen=4000,
        withdraw_methods="wechat,alipay",
    )
    cases = [
        (withdraw(client, d, 100), 400, "amount_fen"),
        (withdraw(client, d, 3001), 400, "amount_fen"),
        (
            withdraw(
                client,
                d,
                1000,
                "bank",
                bank_name="招商银行",
                card_number="6225880123456789",
                holder="王五",
            ),
            400,
            "method",
        ),
        (withdraw(client, d, 1000, "alipay"), 400, "account.alipay_login"),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.get_json()
        assert field in response.get_json()["error"]["fields"]
    assert withdraw(client, d, 3000).status_code == 201
    over_day = withdraw(client, d, 1500)
    assert over_day.status_code == 409 and over_day.get_json()["error"]["code"] == "daily_limit"
    set_settings(app, withdraw_daily_max_fen=100_000)
    broke = withdraw(client, d, 2500)
    assert broke.status_code == 409 and broke.get_json()["error"]["code"] == "insufficient_balance"
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 2000, "withdrawing_fen": 3000}
    outsider = login(client, "not-a-distributor")
    assert withdraw(client, {"headers": outsider}, 500).status_code == 403


def test_bank_withdrawals_are_paid_by_staff_with_a_reference(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    d = fund(client, app, emulator, run_jobs, "wd-bank", 5000)
    full_width = withdraw(
        client,
        d,
        2000,
        "bank",
        bank_name="招商银行",
        card_number="６２２５８８０１２３４５６７８９",
        holder="王五",
    )
    assert full_width.status_code == 400
    assert "account.card_number" in full_width.get_json()["error"]["fields"]
    w = withdraw(
        client,
        d,
        2000,
        "bank",
        bank_name="招商银行",
        card_number="6225 8801 2345 6789",
        holder="王五",
    ).get_json()
    assert w["account"] == "招商银行 ****6789"
    with app.app_context():
        withdrawals.approve(w["id"])
        assert payouts.pay_one(w["id"]) is payouts.Result.SKIPPED  # no API for banks
        withdrawals.mark_bank_paid(w["id"], "CMB20261126001")
    assert status_of(client, d, w["id"])["status"] == "paid"
    assert balances(client, d)["withdrawing_fen"] == 0
    clean(app)


def test_the_weekly_payout_cycle_approves_and_pays_what_is_due(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    from wxdist.money.payout_cycle import run_if_due

    d = fund(client, app, emulator, run_jobs, "wd-cycle", 5000)
    set_settings(app, payout_cycle="weekly", payout_weekday=3, wechat_payout_api="v2")
    w = withdraw(client, d, 1000).get_json()
    wednesday = utcnow()
    while (wednesday + timedelta(hours=8)).isoweekday() != 3:
        wednesday += timedelta(days=1)
    with app.app_context():
        assert run_if_due(wednesday - timedelta(days=1)) == 0  # Tuesday: not due
        assert run_if_due(wednesday) == 1
        assert run_if_due(wednesday) == 0  # once a day
    run_jobs()
    assert status_of(client, d, w["id"])["status"] == "paid"


def test_a_batch_lease_is_taken_once_and_only_its_holder_may_pay(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    """Two jobs with overlapping batches lease disjoint rows; a job whose lapsed lease another
    job took neither renews it nor touches the gateway."""
    d = fund(client, app, emulator, run_jobs, "wd-lease", 5000)
    set_settings(app, wechat_payout_api="v2")
    ids = [withdraw(client, d, 1000).get_json()["id"] for _ in range(3)]
    with app.app_context():
        db.session.execute(
            update(Withdrawal).where(Withdrawal.id.in_(ids)).values(status="approved")
        )
        db.session.commit()
        first = payouts.take_leases(ids[:2])
        second = payouts.take_leases(ids)  # overlaps the first: gets the free row only
        assert [p.id for p in first] == ids[:2] and [p.id for p in second] == ids[2:]
        assert first[0].lease_owner != second[0].lease_owner
        assert payouts.take_leases(ids) == []

        db.session.execute(  # the first job stalls and its lease on ids[0] lapses ...
            update(Withdrawal)
            .where(Withdrawal.id == ids[0])
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        (taken,) = payouts.take_leases([ids[0]])  # ... so a third job takes it
        stalled = dataclasses.replace(first[0], lease_until=utcnow())  # must renew: cannot
        assert payouts.pay_leased(stalled) is payouts.Result.SKIPPED
        assert emulator_stats(emulator, "wechat")["transfers"] == 0
        results = [payouts.pay_leased(p) for p in (taken, first[1], second[0])]
        assert results == [payouts.Result.PAID] * 3
        numbers = {db.session.get(Withdrawal, i).payout_no for i in ids}
    assert emulator_stats(emulator, "wechat")["transfers_paid"] == dict.fromkeys(numbers, 1)
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 2000, "withdrawing_fen": 0}
    clean(app)
