"""A hypothesis state machine over the whole distribution programme.

Each example starts from an empty database and a reset gateway emulator, draws the
distribution settings, two products (one with its own commission rates) and a level, then
runs random steps against the real surfaces: logging in with a scene, binding, applying,
ordering and paying through the emulator (WeChat or Alipay), duplicate notifies, partial
and whole refunds (settled by the emulator's refund notify or Alipay's synchronous answer),
shipping, confirming receipt, and the settlement sweep with a clock the machine moves by
days. Refunds, shipping and the sweep have no API yet, so those steps call the services.

A model of what should have happened (bindings, distributor standing, stock, order states,
the commission every order ought to have earned) is kept beside the database. After every
step the job queue is drained and the invariants are checked: `reconcile.check_all()` is
empty, the database agrees with the model, stock is conserved, no referral path holds its
own user, every commission keeps exactly its proportional share of what was not refunded,
and every balance is the net of the commission records behind it.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.shop import ADDRESS, make_product, set_settings
from wxdist.core.errors import ApiError, Conflict
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE, apply_rate, proportion
from wxdist.distribution import distributors, settlement
from wxdist.distribution.referrals import distributor_scene
from wxdist.models import (
    Commission,
    CommissionStatus,
    Distributor,
    DistributorAccount,
    Order,
    Payment,
    PaymentStatus,
    Product,
    Referral,
    ReferralBinding,
    Sku,
    User,
)
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all
from wxdist.shop.refunds import request_refund
from wxdist.shop.shipments import ship_whole_order

CODES = [f"sm-user-{i}" for i in range(6)]
STOCK = 12
# Scenes that name nobody usable, and what binding to them answers.
JUNK_SCENES = {
    "hello": "unknown_scene",
    "r": "unknown_scene",
    "R1": "unknown_scene",
    "r-1": "unknown_scene",
    "rzzzzzz": "not_distributor",
}
REFUNDABLE = ("paid", "shipped", "completed")
APPLICATION = {"real_name": "王五", "phone": "13700137000"}

SETTING_VALUES = {
    "distributor_mode": st.sampled_from(["everyone", "application", "spend"]),
    "application_review": st.sampled_from(["auto", "manual"]),
    "distributor_min_spend_fen": st.sampled_from([0, 3000]),
    "depth": st.sampled_from([1, 2]),
    "level1_rate_bp": st.sampled_from([0, 1000, 3333, 6000]),
    "level2_rate_bp": st.sampled_from([0, 500, 1667, 4000, 5000]),
    "binding_mode": st.sampled_from(["permanent", "valid_days", "last_touch"]),
    "binding_scope": st.sampled_from(["no_referrer", "new_users"]),
    "self_purchase_commission": st.booleans(),
    "freeze_days": st.integers(0, 7),
    "auto_complete_days": st.integers(1, 7),
}
SETTINGS_STRATEGY = st.fixed_dictionaries(
    {**SETTING_VALUES, "level2_rate_bp": st.sampled_from([0, 500, 1667, 4000])}
).map(lambda config: {"enabled": True, **config})
OWN_RATE = st.one_of(st.none(), st.sampled_from([0, 2500, 7000, 10000]))
# Mostly the scene of a registered user (by index), sometimes a junk scene.
INDEX = st.integers(0, 50)
SCENE = st.one_of(INDEX, INDEX, INDEX, st.sampled_from(sorted(JUNK_SCENES)))


@dataclasses.dataclass
class ShopUser:
    code: str
    id: int
    headers: dict[str, str]
    paid_orders: int = 0
    spend_fen: int = 0


@dataclasses.dataclass
class ShopOrder:
    id: int
    buyer: ShopUser
    lines: dict[int, int]  # sku id -> quantity
    payable_fen: int
    status: str = "pending_payment"
    channel: str | None = None
    out_trade_no: str | None = None
    paid_fen: int = 0
    refunded_fen: int = 0
    status_before_refund: str | None = None
    open_refund: tuple[str, int] | None = None  # a WeChat refund waiting for its notify
    referrers: tuple[int | None, int | None] = (None, None)
    shipped_at: datetime | None = None
    completed_at: datetime | None = None
    settled: bool = False


class DistributionMachine(RuleBasedStateMachine):
    # Set by the pytest test below from its fixtures.
    app: ClassVar[Flask]
    client: ClassVar[FlaskClient]
    emulator_url: ClassVar[str]
    drain_jobs: ClassVar[Callable[[], int]]

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, ShopUser] = {}
        self.status: dict[int, str] = {}  # distributor standing by user id
        self.parent: dict[int, int] = {}
        self.invites: Counter[int] = Counter()
        self.bindings = 0
        self.team_sales: Counter[int] = Counter()
        self.levelled: set[int] = set()
        self.orders: list[ShopOrder] = []
        self.settled_refunds: list[str] = []  # WeChat refunds already notified once
        self.skus: list[int] = []
        self.stock: dict[int, int] = {}
        self.price: dict[int, int] = {}
        self.own_rates: dict[int, tuple[int | None, int | None]] = {}
        self.level_rates: tuple[int, int] = (0, 0)
        # (order id, sku id, depth) -> (beneficiary, rate_bp, amount_fen)
        self.expected: dict[tuple[int, int, int], tuple[int, int, int]] = {}
        self.config: dict[str, Any] = {}
        self.now = utcnow()

    # ---- setup ---------------------------------------------------------------------

    @initialize(
        config=SETTINGS_STRATEGY,
        prices=st.tuples(st.integers(1, 40_000), st.integers(1, 40_000)),
        own_rates=st.tuples(OWN_RATE, OWN_RATE),
        level_rates=st.tuples(st.sampled_from([0, 1500, 5000]), st.sampled_from([0, 1000, 5000])),
        cast=st.integers(2, len(CODES)),
        approved=st.lists(
            st.sampled_from([True, True, True, False]), min_size=len(CODES), max_size=len(CODES)
        ),
        parents=st.lists(
            st.one_of(st.none(), INDEX, INDEX), min_size=len(CODES), max_size=len(CODES)
        ),
        purchases=st.lists(
            st.tuples(INDEX, st.integers(0, 1), st.sampled_from(["wechat", "alipay"])),
            max_size=3,
        ),
    )
    def start(
        self,
        config: dict[str, Any],
        prices: tuple[int, int],
        own_rates: tuple[int | None, int | None],
        level_rates: tuple[int, int],
        cast: int,
        approved: list[bool],
        parents: list[int | None],
        purchases: list[tuple[int, int, str]],
    ) -> None:
        app = self.app
        with app.app_context():  # the autouse fixture cleans once per test, not per example
            with db.engine.begin() as conn:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
            if app.config.get("REDIS_URL"):
                from wxdist.core.redis_conn import redis_client

                redis_client(app.config["REDIS_URL"]).flushdb()
        for channel in ("wechat", "alipay"):
            requests.post(f"{self.emulator_url}/_emulator/{channel}/reset", timeout=10)
        requests.delete(f"{self.emulator_url}/_emulator/faults", timeout=10)
        self._auto_refund_notify(False)  # refunds settle when a step says so

        for index, price in enumerate(prices):
            product = make_product(app, price_fen=price, stock=STOCK, title=f"商品{index}")
            sku_id = product["sku_id"]
            self.skus.append(sku_id)
            self.stock[sku_id] = STOCK
            self.price[sku_id] = price
            self.own_rates[sku_id] = own_rates if index == 1 else (None, None)
            with app.app_context():
                row = db.session.get(Product, product["product_id"])
                row.commission_l1_bp, row.commission_l2_bp = self.own_rates[sku_id]
                db.session.commit()
        self.level_rates = level_rates
        with app.app_context():
            distributors.create_level(
                distributors.LevelSpec(
                    name="金牌",
                    rank=1,
                    level1_rate_bp=level_rates[0],
                    level2_rate_bp=level_rates[1],
                    min_direct_invites=2,
                )
            )
        # A cast to start from, so that the steps soon reach chains and commission: users
        # logging in with the scene of an earlier one (a forest), some of them distributors
        # (admitted while anyone may join); then the drawn settings apply.
        self.config = {**config, "distributor_mode": "everyone"}
        set_settings(app, **self.config)
        for who in range(cast):
            parent = parents[who]
            self.log_in(who, parent % who if parent is not None and who > 0 else None)
            if approved[who]:
                self.apply(who)
        self.config = config
        set_settings(app, distributor_mode=config["distributor_mode"])
        for who, product, channel in purchases:  # and a few paid orders
            self.place_order(who, [(product, 1)], channel)
            # Each order's attribution runs before the next step, as `_attribute` models it
            # (on RQ a buyer promoted by spend is a distributor only once the job ran).
            self._drain_jobs()
        # Half a day off midnight, so "shipped now" is never on a sweep's cutoff.
        self.now = (utcnow() - timedelta(hours=12)).replace(microsecond=0)

    def teardown(self) -> None:
        self._auto_refund_notify(True)

    def _auto_refund_notify(self, on: bool) -> None:
        answer = requests.post(
            f"{self.emulator_url}/_emulator/wechat/config",
            json={"auto_refund_notify": on},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    # ---- model helpers -------------------------------------------------------------

    def _user(self, index: int) -> ShopUser:
        users = list(self.users.values())
        return users[index % len(users)]

    def _scene(self, choice: str | int) -> tuple[str, int | None, str | None]:
        """(scene text, referrer id it names, or None with the refusal it must get)."""
        if isinstance(choice, str) or not self.users:
            text = choice if isinstance(choice, str) else "rzzzzzz"
            return text, None, JUNK_SCENES[text]
        referrer_id = self._user(choice).id
        return distributor_scene(referrer_id), referrer_id, None

    def _ancestors(self, user_id: int) -> list[int]:
        """Nearest first; the model never holds a cycle (asserted in the invariant)."""
        found: list[int] = []
        current = self.parent.get(user_id)
        while current is not None:
            assert current not in found and current != user_id, "model cycle"
            found.append(current)
            current = self.parent.get(current)
        return found

    def _predict_bind(
        self, user: ShopUser, referrer_id: int | None, junk: str | None
    ) -> dict[str, Any]:
        def refused(reason: str, referrer: int | None = None) -> dict[str, Any]:
            return {"bound": False, "reason": reason, "referrer_id": referrer}

        if not self.config["enabled"]:
            return refused("programme_off")
        if referrer_id is None:
            return refused(junk or "unknown_scene")
        if referrer_id == user.id:
            return refused("self")
        if self.status.get(referrer_id) != "approved":
            return refused("not_distributor")
        current = self.parent.get(user.id)
        if current == referrer_id:
            return refused("already_bound", referrer_id)
        if current is not None and self.config["binding_mode"] != "last_touch":
            return refused("already_bound", current)
        if current is None and self.config["binding_scope"] == "new_users" and user.paid_orders > 0:
            return refused("not_new_user")
        if user.id in self._ancestors(referrer_id):
            return refused("cycle")
        return {
            "bound": True,
            "reason": "rebound" if current is not None else "bound",
            "referrer_id": referrer_id,
        }

    def _check_bind(
        self, user: ShopUser, referrer_id: int | None, junk: str | None, answer: Any
    ) -> None:
        expected = self._predict_bind(user, referrer_id, junk)
        assert answer == expected, (answer, expected)
        if expected["bound"]:
            assert referrer_id is not None
            self.parent[user.id] = referrer_id
            self.invites[referrer_id] += 1
            self.bindings += 1

    def _approved(self, user_id: int | None) -> bool:
        return user_id is not None and self.status.get(user_id) == "approved"

    def _attribute(self, order: ShopOrder) -> None:
        """What attribution must write for an order paid now (the job runs before the next
        step, with the bindings and standings as they are now)."""
        buyer = order.buyer.id
        parent = self.parent.get(buyer)
        grandparent = self.parent.get(parent) if parent is not None else None
        if self.config["self_purchase_commission"] and self._approved(buyer):
            candidates = [buyer, parent]
        else:
            candidates = [parent, grandparent]
        beneficiaries = [
            (depth, user_id)
            for depth, user_id in enumerate(candidates[: self.config["depth"]], start=1)
            if self._approved(user_id) and self.config["enabled"]
        ]
        with self.app.app_context():
            has_level = {
                user_id: db.session.get(Distributor, user_id).level_id is not None
                for _, user_id in beneficiaries
            }
        for sku_id, quantity in order.lines.items():
            item_paid = self.price[sku_id] * quantity
            used = 0
            for depth, user_id in beneficiaries:
                own = self.own_rates[sku_id][depth - 1]
                if own is not None:
                    rate = own
                elif has_level[user_id]:
                    rate = self.level_rates[depth - 1]
                else:
                    rate = self.config[f"level{depth}_rate_bp"]
                rate = min(rate, BP_WHOLE - used)
                used += rate
                amount = apply_rate(item_paid, rate)
                if amount > 0:
                    self.expected[(order.id, sku_id, depth)] = (user_id, rate, amount)
        by_depth = dict(beneficiaries)
        order.referrers = (by_depth.get(1), by_depth.get(2))
        for _, user_id in beneficiaries:
            self.team_sales[user_id] += order.paid_fen
        order.buyer.paid_orders += 1
        order.buyer.spend_fen += order.paid_fen
        if (
            self.config["enabled"]
            and self.config["distributor_mode"] == "spend"
            and order.buyer.spend_fen >= self.config["distributor_min_spend_fen"]
            and buyer not in self.status
        ):
            self.status[buyer] = "approved"  # promoted by spend

    def _paid_orders(self) -> list[ShopOrder]:
        return [order for order in self.orders if order.channel is not None]

    def _pending_orders(self) -> list[ShopOrder]:
        return [order for order in self.orders if order.status == "pending_payment"]

    def _refund_settled(self, order: ShopOrder, amount: int) -> None:
        order.refunded_fen += amount
        order.open_refund = None
        assert order.status_before_refund is not None
        order.status = (
            "refunded" if order.refunded_fen == order.paid_fen else order.status_before_refund
        )

    def _pay(self, order: ShopOrder, channel: str) -> None:
        client, emulator = self.client, self.emulator_url
        started = client.post(
            f"/api/v1/orders/{order.id}/pay", json={"channel": channel}, headers=order.buyer.headers
        )
        assert started.status_code == 200, started.get_json()
        out_trade_no = started.get_json()["out_trade_no"]
        if channel == "alipay":  # the shopper opens the cashier: the trade exists from now
            cashier = requests.get(started.get_json()["alipay_url"], timeout=10)
            assert cashier.status_code == 200, cashier.text
        paid = requests.post(
            f"{emulator}/_emulator/{channel}/pay", json={"out_trade_no": out_trade_no}, timeout=30
        )
        assert paid.status_code == 200, paid.text
        assert paid.json()["notify_status"] == 200, paid.json()
        order.status, order.channel, order.out_trade_no = "paid", channel, out_trade_no
        order.paid_fen = order.payable_fen
        self._attribute(order)

    # ---- rules: people and bindings ------------------------------------------------

    @rule(who=st.integers(0, len(CODES) - 1), scene=st.one_of(st.none(), SCENE))
    def log_in(self, who: int, scene: str | int | None) -> None:
        code = CODES[who]
        body: dict[str, Any] = {"code": code}
        referrer_id, junk = None, None
        if scene is not None:
            body["scene"], referrer_id, junk = self._scene(scene)
        response = self.client.post("/api/v1/auth/login", json=body)
        data = response.get_json()
        assert response.status_code == (200 if code in self.users else 201), data
        user = self.users.get(code)
        if user is None:
            user = ShopUser(code, data["user"]["id"], {"Authorization": f"Bearer {data['token']}"})
            self.users[code] = user
        assert data["user"]["id"] == user.id
        if scene is None:
            assert data["referral"] is None
        else:
            self._check_bind(user, referrer_id, junk, data["referral"])

    @precondition(lambda self: self.users)
    @rule(who=INDEX, scene=SCENE)
    def bind(self, who: int, scene: str | int) -> None:
        user = self._user(who)
        text, referrer_id, junk = self._scene(scene)
        response = self.client.post(
            "/api/v1/referral/bind", json={"scene": text}, headers=user.headers
        )
        assert response.status_code == 200, response.get_json()
        self._check_bind(user, referrer_id, junk, response.get_json())

    def _cycle_candidates(self) -> list[tuple[ShopUser, int]]:
        """(user, an approved descendant of theirs): binding them would close a cycle."""
        by_id = {user.id: user for user in self.users.values()}
        return [
            (by_id[ancestor], user_id)
            for user_id in sorted(self.parent)
            if self._approved(user_id)
            for ancestor in self._ancestors(user_id)
            if ancestor in by_id
        ]

    @precondition(lambda self: self._cycle_candidates())
    @rule(which=INDEX)
    def bind_to_descendant(self, which: int) -> None:
        candidates = self._cycle_candidates()
        user, descendant = candidates[which % len(candidates)]
        response = self.client.post(
            "/api/v1/referral/bind",
            json={"scene": distributor_scene(descendant)},
            headers=user.headers,
        )
        assert response.status_code == 200, response.get_json()
        self._check_bind(user, descendant, None, response.get_json())

    @precondition(lambda self: self.users)
    @rule(who=INDEX)
    def apply(self, who: int) -> None:
        user = self._user(who)
        response = self.client.post(
            "/api/v1/distributor/application", json=APPLICATION, headers=user.headers
        )
        data = response.get_json()
        if not self.config["enabled"]:
            assert response.status_code == 409, data
            assert data["error"]["code"] == "programme_off"
            return
        standing = self.status.get(user.id)
        if standing in ("approved", "disabled", "pending"):
            assert response.status_code == 409, data
            assert data["error"]["code"] == f"already_{standing}"
            return
        mode = self.config["distributor_mode"]
        if mode == "spend" and user.spend_fen < self.config["distributor_min_spend_fen"]:
            assert response.status_code == 400, data
            assert data["error"]["code"] == "spend_required"
            return
        assert response.status_code == 201, data
        auto = mode in ("everyone", "spend") or self.config["application_review"] == "auto"
        self.status[user.id] = "approved" if auto else "pending"
        assert data["status"] == self.status[user.id]

    @precondition(lambda self: "pending" in self.status.values())
    @rule(which=INDEX, approve=st.booleans())
    def review(self, which: int, approve: bool) -> None:
        pending = sorted(uid for uid, standing in self.status.items() if standing == "pending")
        user_id = pending[which % len(pending)]
        with self.app.app_context():
            row = distributors.review(user_id, approve, "" if approve else "资料不全")
            assert row.status == ("approved" if approve else "rejected")
        self.status[user_id] = "approved" if approve else "rejected"

    @precondition(lambda self: {"approved", "disabled"} & set(self.status.values()))
    @rule(which=INDEX)
    def toggle_disabled(self, which: int) -> None:
        candidates = sorted(
            uid for uid, standing in self.status.items() if standing in ("approved", "disabled")
        )
        user_id = candidates[which % len(candidates)]
        disable = self.status[user_id] == "approved"
        with self.app.app_context():
            row = distributors.set_disabled(user_id, disable, "测试")
            assert row.status == ("disabled" if disable else "approved")
        self.status[user_id] = "disabled" if disable else "approved"

    @precondition(lambda self: self.users)
    @rule(who=INDEX)
    def view_centre(self, who: int) -> None:
        user = self._user(who)
        response = self.client.get("/api/v1/distributor", headers=user.headers)
        assert response.status_code == 200, response.get_json()
        data = response.get_json()
        standing = self.status.get(user.id, "none")
        assert data["status"] == standing
        assert data["direct_invites"] == self.invites[user.id]
        assert data["scene"] == (distributor_scene(user.id) if standing == "approved" else None)
        if standing != "none":
            team = {
                member
                for member, parent in self.parent.items()
                if parent == user.id or self.parent.get(parent) == user.id
            }
            assert data["team_size"] == len(team)
        with self.app.app_context():
            account = db.session.get(DistributorAccount, user.id)
            balances = (
                (account.frozen_fen, account.available_fen, account.withdrawing_fen)
                if account
                else (0, 0, 0)
            )
            lifetime = account.lifetime_earned_fen if account else 0
        shown = data["balances"]
        assert (shown["frozen_fen"], shown["available_fen"], shown["withdrawing_fen"]) == balances
        assert data["lifetime_earned_fen"] == lifetime

    @rule(changes=st.fixed_dictionaries({}, optional={**SETTING_VALUES, "enabled": st.booleans()}))
    def change_settings(self, changes: dict[str, Any]) -> None:
        """What the merchant does in the panel, between any two steps."""
        merged = {**self.config, **changes}
        sound = merged["level1_rate_bp"] + merged["level2_rate_bp"] <= BP_WHOLE
        try:
            set_settings(self.app, **changes)
        except ApiError as exc:
            assert not sound, exc.fields
            return
        assert sound, "rates above 100 % accepted"
        self.config = merged

    # ---- rules: orders and payments --------------------------------------------------

    @precondition(lambda self: self.users)
    @rule(
        who=INDEX,
        lines=st.lists(
            st.tuples(st.integers(0, 1), st.sampled_from([1, 1, 2, 2, 3, STOCK + 1])),
            min_size=1,
            max_size=2,
            unique_by=lambda line: line[0],
        ),
        channel=st.sampled_from([None, "wechat", "alipay"]),
    )
    def place_order(self, who: int, lines: list[tuple[int, int]], channel: str | None) -> None:
        user = self._user(who)
        wanted = {self.skus[product]: quantity for product, quantity in lines}
        response = self.client.post(
            "/api/v1/orders",
            json={
                "items": [{"sku_id": sku, "quantity": q} for sku, q in wanted.items()],
                "address": ADDRESS,
            },
            headers=user.headers,
        )
        data = response.get_json()
        if any(self.stock[sku] < quantity for sku, quantity in wanted.items()):
            assert response.status_code == 409, data
            assert data["error"]["code"] == "out_of_stock"
            return
        assert response.status_code == 201, data
        for sku, quantity in wanted.items():
            self.stock[sku] -= quantity
        payable = sum(self.price[sku] * quantity for sku, quantity in wanted.items())
        assert data["payable_fen"] == payable
        order = ShopOrder(id=data["id"], buyer=user, lines=wanted, payable_fen=payable)
        self.orders.append(order)
        if channel is not None:
            self._pay(order, channel)

    @precondition(lambda self: self._pending_orders())
    @rule(which=INDEX, channel=st.sampled_from(["wechat", "alipay"]))
    def pay_pending(self, which: int, channel: str) -> None:
        pending = self._pending_orders()
        self._pay(pending[which % len(pending)], channel)

    @precondition(lambda self: self.orders)
    @rule(which=INDEX)
    def cancel(self, which: int) -> None:
        order = self.orders[which % len(self.orders)]
        response = self.client.post(
            f"/api/v1/orders/{order.id}/cancel", headers=order.buyer.headers
        )
        if order.status != "pending_payment":
            assert response.status_code == 409, response.get_json()
            return
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == "cancelled"
        order.status = "cancelled"
        for sku, quantity in order.lines.items():
            self.stock[sku] += quantity

    @precondition(lambda self: self._paid_orders())
    @rule(which=INDEX)
    def duplicate_notify(self, which: int) -> None:
        paid = self._paid_orders()
        order = paid[which % len(paid)]
        again = requests.post(
            f"{self.emulator_url}/_emulator/{order.channel}/notify",
            json={"out_trade_no": order.out_trade_no},
            timeout=30,
        )
        assert again.status_code == 200, again.text
        assert again.json()["notify_status"] == 200, again.json()

    # ---- rules: refunds --------------------------------------------------------------

    @precondition(lambda self: self._paid_orders())
    @rule(which=INDEX, kind=st.sampled_from(["whole", "part", "item"]), cut=st.integers(1, 99))
    def refund(self, which: int, kind: str, cut: int) -> None:
        paid = self._paid_orders()
        order = paid[which % len(paid)]
        remaining = order.paid_fen - order.refunded_fen
        item_id, item_left = None, None
        with self.app.app_context():
            if kind == "item":
                items = sorted(db.session.get(Order, order.id).items, key=lambda i: i.sku_id)
                item = items[cut % len(items)]
                item_id, item_left = item.id, item.paid_fen - item.refunded_fen
                amount = max(1, item_left * cut // 100)
            elif kind == "part":
                amount = max(1, remaining * cut // 100)
            else:
                amount = remaining
            refundable = order.status in REFUNDABLE
            try:
                refund = request_refund(order.id, amount, "state machine", order_item_id=item_id)
            except Conflict as exc:
                assert not refundable, exc.message
                assert exc.code == "invalid_status"
                return
            except ApiError as exc:
                assert refundable and item_left is not None and amount > item_left, exc.message
                return
            assert refundable, f"refunded an order that is {order.status}"
            out_refund_no, refund_status = refund.out_refund_no, refund.status
        order.status_before_refund = order.status
        if order.channel == "wechat":
            assert refund_status == "processing"
            order.status, order.open_refund = "refunding", (out_refund_no, amount)
        else:  # Alipay answers at once
            assert refund_status == "succeeded"
            self._refund_settled(order, amount)

    @precondition(lambda self: any(o.open_refund for o in self.orders))
    @rule(which=INDEX)
    def settle_wechat_refund(self, which: int) -> None:
        waiting = [order for order in self.orders if order.open_refund]
        order = waiting[which % len(waiting)]
        assert order.open_refund is not None
        out_refund_no, amount = order.open_refund
        settled = requests.post(
            f"{self.emulator_url}/_emulator/wechat/settle-refund",
            json={"out_refund_no": out_refund_no},
            timeout=30,
        )
        assert settled.status_code == 200, settled.text
        assert settled.json()["notify_status"] == 200, settled.json()
        self._refund_settled(order, amount)
        self.settled_refunds.append(out_refund_no)

    @precondition(lambda self: self.settled_refunds)
    @rule(which=INDEX)
    def duplicate_refund_notify(self, which: int) -> None:
        out_refund_no = self.settled_refunds[which % len(self.settled_refunds)]
        again = requests.post(
            f"{self.emulator_url}/_emulator/wechat/settle-refund",
            json={"out_refund_no": out_refund_no},
            timeout=30,
        )
        assert again.status_code == 200, again.text
        assert again.json()["notify_status"] == 200, again.json()

    # ---- rules: fulfilment and settlement --------------------------------------------

    @precondition(lambda self: self._paid_orders())
    @rule(which=INDEX)
    def ship(self, which: int) -> None:
        paid = self._paid_orders()
        order = paid[which % len(paid)]
        with self.app.app_context():
            try:
                ship_whole_order(order.id, "SF", f"SF{order.id}")
                shipped = db.session.get(Order, order.id)
            except Conflict:
                assert order.status != "paid"
                return
            assert order.status == "paid", f"shipped an order that is {order.status}"
            order.status, order.shipped_at = "shipped", shipped.shipped_at

    @precondition(lambda self: self._paid_orders())
    @rule(which=INDEX)
    def confirm_receipt(self, which: int) -> None:
        paid = self._paid_orders()
        order = paid[which % len(paid)]
        response = self.client.post(
            f"/api/v1/orders/{order.id}/confirm-receipt", headers=order.buyer.headers
        )
        if order.status != "shipped":
            assert response.status_code == 409, response.get_json()
            return
        assert response.status_code == 200, response.get_json()
        order.status = "completed"
        with self.app.app_context():
            order.completed_at = db.session.get(Order, order.id).completed_at

    @rule(days=st.integers(0, 12))
    def sweep(self, days: int) -> None:
        self.now += timedelta(days=days)
        ship_cutoff = self.now - timedelta(days=self.config["auto_complete_days"])
        completing = [
            order
            for order in self.orders
            if order.status == "shipped"
            and order.shipped_at is not None
            and order.shipped_at <= ship_cutoff
        ]
        for order in completing:
            order.status, order.completed_at = "completed", self.now
        settle_cutoff = self.now - timedelta(days=self.config["freeze_days"])
        settling = [
            order
            for order in self.orders
            if order.status == "completed"
            and not order.settled
            and order.completed_at is not None
            and order.completed_at <= settle_cutoff
        ]
        with self.app.app_context():
            assert settlement.auto_complete_orders(self.now) == len(completing)
            assert settlement.settle_due(self.now) == len(settling)
        for order in settling:
            order.settled = True

    # ---- invariants -------------------------------------------------------------------

    @invariant()
    def books_and_graph_are_sound(self) -> None:
        self._drain_jobs()  # attribution and clawback jobs (RQ), before anything is read
        with self.app.app_context():
            assert check_all() == []
            self._check_stock()
            self._check_referrals()
            self._check_people()
            self._check_orders()
            self._check_commissions_and_balances()

    def _drain_jobs(self) -> None:
        """`run_jobs()`, skipped when nothing is queued: a burst worker costs ~0.1 s even
        on an empty queue, which is most of the machine's time on Redis otherwise."""
        if not self.app.config["INLINE_JOBS"]:
            from wxdist.core import tasks

            names = getattr(tasks, "QUEUES", (tasks.DEFAULT_QUEUE,))
            with self.app.app_context():
                waiting = sum(tasks.rq_queue(name).count for name in names)
            if not waiting:
                return
        self.drain_jobs()

    def _check_stock(self) -> None:
        held: Counter[int] = Counter()
        for order in self.orders:
            if order.status not in ("cancelled", "closed"):
                for sku, quantity in order.lines.items():
                    held[sku] += quantity
        for sku in self.skus:
            stock = db.session.get(Sku, sku).stock
            assert stock == self.stock[sku]
            assert stock + held[sku] == STOCK, "stock was created or lost"

    def _check_referrals(self) -> None:
        rows = {row.user_id: row for row in db.session.scalars(select(Referral))}
        assert {uid: row.parent_id for uid, row in rows.items()} == self.parent
        for user_id, row in rows.items():
            assert f"/{user_id}/" not in row.path, f"user {user_id} in own path {row.path}"
            seen = {user_id}  # walk the parents: the graph itself is acyclic
            current = row.parent_id
            while current is not None:
                assert current not in seen, f"cycle through {current}"
                seen.add(current)
                current = rows[current].parent_id if current in rows else None
            ancestors = self._ancestors(user_id)
            assert row.path == "/" + "".join(f"{a}/" for a in reversed(ancestors))
            assert row.depth == len(ancestors)
            assert row.grandparent_id == self.parent.get(row.parent_id)
        assert db.session.scalar(select(func.count()).select_from(ReferralBinding)) == self.bindings

    def _check_people(self) -> None:
        standing = {row.user_id: row for row in db.session.scalars(select(Distributor))}
        assert {uid: row.status for uid, row in standing.items()} == self.status
        for user_id, row in standing.items():
            assert row.direct_invites == self.invites[user_id]
            assert row.team_sales_fen == self.team_sales[user_id]
            if row.level_id is not None:
                assert row.direct_invites >= 2, "a level whose condition does not hold"
                self.levelled.add(user_id)
            else:
                assert user_id not in self.levelled, "a level went down by itself"
        for user in self.users.values():
            row = db.session.get(User, user.id)
            assert (row.paid_orders, row.paid_spend_fen) == (user.paid_orders, user.spend_fen)

    def _check_orders(self) -> None:
        for order in self.orders:
            row = db.session.get(Order, order.id)
            assert row.status == order.status, (order.id, row.status, order.status)
            assert (row.paid_fen, row.refunded_fen) == (order.paid_fen, order.refunded_fen)
            assert sum(item.refunded_fen for item in row.items) == row.refunded_fen
            assert all(0 <= item.refunded_fen <= item.paid_fen for item in row.items)
            assert (row.commission_settled_at is not None) == order.settled
            paid = db.session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(Payment.order_id == order.id, Payment.status == PaymentStatus.PAID)
            )
            assert paid == (1 if order.channel else 0)
            if order.channel:
                assert row.pay_channel == order.channel
                assert row.attributed_at is not None
                assert (row.referrer_l1_id, row.referrer_l2_id) == order.referrers

    def _check_commissions_and_balances(self) -> None:
        records = db.session.scalars(select(Commission)).all()
        orders = {order.id: db.session.get(Order, order.id) for order in self.orders}
        items = {item.id: item for order in orders.values() for item in order.items}
        found = {
            (c.order_id, items[c.order_item_id].sku_id, c.level): (
                c.beneficiary_id,
                c.rate_bp,
                c.amount_fen,
            )
            for c in records
        }
        assert len(found) == len(records)
        assert found == self.expected
        frozen: Counter[int] = Counter()
        settled: Counter[int] = Counter()
        for c in records:
            order, item = orders[c.order_id], items[c.order_item_id]
            assert c.base_fen == item.paid_fen and c.level in (1, 2)  # never deeper
            keep = (
                0
                if order.status == "refunded"
                else proportion(c.amount_fen, item.paid_fen - item.refunded_fen, item.paid_fen)
            )
            assert c.net_fen == keep, f"commission {c.id} keeps {c.net_fen}, should keep {keep}"
            if c.status == CommissionStatus.FROZEN:
                assert c.net_fen > 0 and order.commission_settled_at is None
                frozen[c.beneficiary_id] += c.net_fen
            elif c.status == CommissionStatus.SETTLED:
                assert order.commission_settled_at is not None
                settled[c.beneficiary_id] += c.net_fen
            else:
                assert c.status == CommissionStatus.CANCELLED and c.net_fen == 0
        accounts = {a.user_id: a for a in db.session.scalars(select(DistributorAccount))}
        for user_id in {c.beneficiary_id for c in records} | {
            uid for uid, s in self.status.items() if s == "approved"
        }:
            assert user_id in accounts, f"no account for {user_id}"
        for user_id, account in accounts.items():
            assert account.frozen_fen == frozen[user_id]
            assert account.available_fen == settled[user_id]  # nothing is withdrawn here
            assert account.withdrawing_fen == 0
            assert account.lifetime_earned_fen == settled[user_id]


MACHINE_SETTINGS = settings(
    # WXDIST_MACHINE_EXAMPLES=500 for a longer hunt.
    max_examples=int(os.environ.get("WXDIST_MACHINE_EXAMPLES", "25")),
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_distribution_state_machine(
    app: Flask, client: FlaskClient, emulator: EmulatorServer, run_jobs: Callable[[], int]
) -> None:
    DistributionMachine.app = app
    DistributionMachine.client = client
    DistributionMachine.emulator_url = emulator.url
    DistributionMachine.drain_jobs = staticmethod(run_jobs)  # type: ignore[assignment]
    try:
        run_state_machine_as_test(DistributionMachine, settings=MACHINE_SETTINGS)
    finally:
        requests.post(
            f"{emulator.url}/_emulator/wechat/config", json={"auto_refund_notify": True}, timeout=10
        )
