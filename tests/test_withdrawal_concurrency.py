"""Withdrawal requests racing over real HTTP (threaded live server, one connection per
client, released together by a barrier): the balance check is one conditional update, so a
storm can never take a balance below zero nor hold more than was available. Runs on SQLite
and on MariaDB."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.shop import become_distributor, set_settings, storm
from wxdist.accounts import ledger
from wxdist.core.extensions import db
from wxdist.models import DistributorAccount, LedgerBucket, LedgerEntry, Withdrawal
from wxdist.reporting.reconcile import check_all

AMOUNT = 1000


def _credit(app: Flask, user_id: int, fen: int, key: str) -> None:
    """Available money, through the ledger (as settled commission would arrive)."""
    with app.app_context():
        ledger.post(user_id, LedgerBucket.AVAILABLE, fen, kind="commission", key=key)
        db.session.commit()


def _balances(app: Flask, user_id: int) -> tuple[int, int]:
    with app.app_context():
        account = db.session.get(DistributorAccount, user_id)
        db.session.remove()
        return account.available_fen, account.withdrawing_fen


class BalanceWatch:
    """Reads the available balance over and over while the storm runs; keeps the lowest."""

    def __init__(self, app: Flask, user_id: int) -> None:
        self.app, self.user_id = app, user_id
        self.lowest: int | None = None
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            available, _ = _balances(self.app, self.user_id)
            self.lowest = available if self.lowest is None else min(self.lowest, available)
            self.reads += 1
            self._stop.wait(0.005)

    def __enter__(self) -> BalanceWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _post_withdrawal(url: str, headers: dict[str, str]) -> tuple[int, str]:
    with requests.Session() as http:  # a connection of its own
        response = http.post(
            url,
            json={"amount_fen": AMOUNT, "method": "wechat", "account": {}},
            headers=headers,
            timeout=120,
        )
    code = response.json().get("error", {}).get("code", "") if response.status_code >= 400 else ""
    return response.status_code, code


def test_two_hundred_concurrent_requests_for_ten_withdrawals_hold_exactly_ten(
    client: FlaskClient, app: Flask
) -> None:
    set_settings(
        app,
        withdraw_daily_max_fen=10**9,  # only the balance may refuse
        withdraw_fee_bp=0,
        withdraw_min_fee_fen=0,
        withdraw_methods="wechat",
    )
    d = become_distributor(client, "wd-storm")
    user_id = d["user_id"]
    _credit(app, user_id, 10 * AMOUNT, "storm-seed")
    url = f"{app.config['LIVE_URL']}/api/v1/distributor/withdrawals"

    with BalanceWatch(app, user_id) as watch:
        results = storm(200, lambda i: _post_withdrawal(url, d["headers"]))

    assert Counter(results) == {(201, ""): 10, (409, "insufficient_balance"): 190}
    assert _balances(app, user_id) == (0, 10 * AMOUNT)
    assert watch.reads > 0 and watch.lowest is not None and watch.lowest >= 0
    with app.app_context():
        held = db.session.scalars(select(Withdrawal).where(Withdrawal.user_id == user_id)).all()
        assert len(held) == 10
        assert {w.status for w in held} == {"pending_review"}
        assert sum(w.amount_fen for w in held) == 10 * AMOUNT
        assert len({w.payout_no for w in held}) == 10
        holds = db.session.scalar(
            select(func.count()).where(
                LedgerEntry.user_id == user_id, LedgerEntry.kind == "withdraw"
            )
        )
        assert holds == 20  # available → withdrawing: one out and one in per withdrawal
        assert check_all() == []


def _is_mysql(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("mysql")


def test_distinct_distributors_withdrawing_at_once_are_all_served(
    client: FlaskClient, app: Flask, request: pytest.FixtureRequest
) -> None:
    """Twenty distributors ask at the same instant, each for what they have: all 201.

    (This once failed on MariaDB: rows were inserted with a shared placeholder payout_no in
    a unique index, and concurrent inserts deadlocked on it.)"""
    set_settings(app, withdraw_daily_max_fen=10**9, withdraw_methods="wechat")
    people = [become_distributor(client, f"wd-many-{i}") for i in range(20)]
    for i, person in enumerate(people):
        _credit(app, person["user_id"], AMOUNT, f"many-seed:{i}")
    url = f"{app.config['LIVE_URL']}/api/v1/distributor/withdrawals"

    results = storm(len(people), lambda i: _post_withdrawal(url, people[i]["headers"]))

    with app.app_context():
        assert check_all() == []  # whatever the answers, the books hold
    assert Counter(status for status, _ in results) == {201: len(people)}, results
    for person in people:
        assert _balances(app, person["user_id"]) == (0, AMOUNT)
