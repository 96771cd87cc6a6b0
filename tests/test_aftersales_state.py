"""A hypothesis state machine over after-sales, refunds, settlement and the clock.

Each example starts from an empty database: a distributor (10 % level-1 commission), a
shopper they referred, and two paid orders of two lines each (attributed, so every line
carries frozen commission). Steps apply for after-sales (through the service, with the
machine's clock), move them as the shopper, staff or the sweep would, ship and complete
orders, start refunds (some refused by the emulator), settle refunds by the emulator's
notify, and move the clock by hours then run the sweeps and the settlement.

After every step `reconcile.check_all()` is empty, and no commission was settled on a line
while an after-sale on it was open (checked at each settlement and as an invariant).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
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
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, text

from payments.emulator import EmulatorServer
from tests.shop import ADDRESS, become_distributor, login, make_product, set_settings
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.distribution import settlement
from wxdist.models import (
    AfterSale,
    AfterSaleKind,
    AfterSaleLog,
    AfterSaleStatus,
    Commission,
    CommissionStatus,
    Order,
    OrderItem,
    Refund,
    RefundStatus,
)
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all
from wxdist.shop import shipments
from wxdist.shop.aftersales import rules, service
from wxdist.shop.aftersales.sweep import sweep

S = AfterSaleStatus
STAFF = service.Actor(service.STAFF, 1)
PICK = st.integers(0, 50)


class AfterSalesMachine(RuleBasedStateMachine):
    app: ClassVar[Flask]
    client: ClassVar[FlaskClient]
    emulator_url: ClassVar[str]
    drain_jobs: ClassVar[Callable[[], int]]

    def __init__(self) -> None:
        super().__init__()
        self.headers: dict[str, str] = {}
        self.user_id = 0
        self.order_ids: list[int] = []
        self.item_ids: list[int] = []
        # The clock runs ahead of the wall clock, so times the code stamps itself (refund
        # settlement) are never later than the machine's.
        self.now = utcnow() + timedelta(minutes=1)

    # ---- setup -----------------------------------------------------------------------

    @initialize(
        freeze_days=st.integers(0, 3),
        prices=st.tuples(st.integers(3, 9_000), st.integers(3, 9_000)),
    )
    def start(self, freeze_days: int, prices: tuple[int, int]) -> None:
        app = self.app
        # The autouse fixture cleans once per test, not per example.
        with app.app_context(), db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(text("INSERT INTO referral_lock (id, version) VALUES (1, 0)"))
        requests.post(f"{self.emulator_url}/_emulator/wechat/reset", timeout=10)
        requests.delete(f"{self.emulator_url}/_emulator/faults", timeout=10)
        self._auto_refund_notify(False)
        set_settings(
            app,
            level1_rate_bp=1000,
            level2_rate_bp=0,
            freeze_days=freeze_days,
            auto_complete_days=2,
        )
        distributor = become_distributor(self.client, "as-dist")
        self.headers = login(self.client, "as-buyer", scene=distributor["centre"]["scene"])
        skus = [make_product(self.app, price_fen=p, stock=100)["sku_id"] for p in prices]
        for _ in range(2):
            self._buy(skus)
        self.drain_jobs()  # attribution

    def _auto_refund_notify(self, on: bool) -> None:
        requests.post(
            f"{self.emulator_url}/_emulator/wechat/config",
            json={"auto_refund_notify": on},
            timeout=10,
        )

    def _buy(self, skus: list[int]) -> None:
        body = {"items": [{"sku_id": s, "quantity": 2} for s in skus], "address": ADDRESS}
        order = self.client.post("/api/v1/orders", json=body, headers=self.headers).get_json()
        pay = self.client.post(
            f"/api/v1/orders/{order['id']}/pay", json={"channel": "wechat"}, headers=self.headers
        ).get_json()
        paid = requests.post(
            f"{self.emulator_url}/_emulator/wechat/pay",
            json={"out_trade_no": pay["out_trade_no"], "notify": True},
            timeout=30,
        )
        assert paid.status_code == 200, paid.text
        self.order_ids.append(order["id"])
        self.item_ids.extend(item["id"] for item in order["items"])
        self.user_id = order.get("user_id") or self._user_id(order["id"])

    def _user_id(self, order_id: int) -> int:
        with self.app.app_context():
            return db.session.get(Order, order_id).user_id

    # ---- helpers ---------------------------------------------------------------------

    def _sales(self, *statuses: str) -> list[int]:
        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(AfterSale.id)
                    .where(AfterSale.status.in_(statuses))
                    .order_by(AfterSale.id)
                ).all()
            )

    def _pick(self, ids: list[int], index: int) -> int | None:
        return ids[index % len(ids)] if ids else None

    def _try(self, call: Callable[[], Any]) -> Any:
        """Run a move in the app; a refusal (4xx) is a legal outcome, anything else is not."""
        with self.app.app_context():
            try:
                return call()
            except ApiError as exc:
                assert exc.status in (400, 404, 409), exc
                return None

    # ---- the shopper -----------------------------------------------------------------

    @rule(
        item=PICK,
        kind=st.sampled_from(AfterSaleKind.ALL),
        quantity=st.sampled_from([1, 1, 2, 3]),
        share=st.sampled_from([1, 2, 4, 4, 5]),  # fourths of what it may ask; 5: too much
    )
    def apply(self, item: int, kind: str, quantity: int, share: int) -> None:
        item_id = self.item_ids[item % len(self.item_ids)]
        with self.app.app_context():
            row = db.session.get(OrderItem, item_id)
            order = db.session.get(Order, row.order_id)
            had_open = db.session.scalar(
                select(AfterSale.id).where(AfterSale.open_item_id == item_id)
            )
            shipped = order.shipped_at is not None
            window = rules.window_ends(order)
            qty_left = rules.quantity_left(row)
            cap = rules.amount_cap(row, quantity, qty_left, rules.amount_left(order, row))
            amount = max(1, cap * share // 4)
        data = service.Application(item_id, kind, quantity, amount, "quality")
        sale = self._try(lambda: service.apply(self.user_id, data, self.now))
        if sale is not None:
            assert had_open is None and quantity <= qty_left and amount <= cap
            assert shipped or kind == AfterSaleKind.REFUND_ONLY
            assert window is None or self.now < window

    @rule(pick=PICK, seen=st.booleans())
    def cancel(self, pick: int, seen: bool) -> None:
        sale_id = self._pick(self._sales(*S.ALL), pick)
        if sale_id is None:
            return
        with self.app.app_context():
            before = db.session.get(AfterSale, sale_id).status
        done = self._try(lambda: service.cancel(self.user_id, sale_id, before if seen else None))
        assert (done is not None) == (before in (S.APPLIED, S.AGREED))

    @rule(pick=PICK)
    def ship_back(self, pick: int) -> None:
        sale_id = self._pick(self._sales(S.AGREED), pick)
        if sale_id is not None:
            self._try(lambda: service.ship_back(self.user_id, sale_id, "中通", "ZT0001"))

    # ---- staff -----------------------------------------------------------------------

    @rule(pick=PICK, agree=st.booleans())
    def answer(self, pick: int, agree: bool) -> None:
        sale_id = self._pick(self._sales(S.APPLIED), pick)
        if sale_id is None:
            return
        if agree:
            self._try(lambda: service.agree(sale_id, STAFF, now=self.now))
        else:
            self._try(lambda: service.refuse(sale_id, STAFF, "不符合售后条件"))

    @rule(pick=PICK, outcome=st.sampled_from(["sellable", "unsellable", "refuse"]))
    def receive(self, pick: int, outcome: str) -> None:
        sale_id = self._pick(self._sales(S.BUYER_SHIPPED), pick)
        if sale_id is None:
            return
        if outcome == "refuse":
            self._try(lambda: service.refuse_receipt(sale_id, STAFF, "退回商品不符"))
        else:
            self._try(lambda: service.receive(sale_id, STAFF, outcome == "sellable"))

    @rule(pick=PICK, fail=st.sampled_from([False, False, True]))
    def start_refund(self, pick: int, fail: bool) -> None:
        sale_id = self._pick(self._sales(S.AGREED, S.RECEIVED, S.REFUNDING), pick)
        if sale_id is None:
            return
        if fail:
            requests.post(
                f"{self.emulator_url}/_emulator/faults",
                json={"key": "/secapi/pay/refund", "mode": "fail", "code": "NOTENOUGH"},
                timeout=5,
            )
        self._try(lambda: service.start_refund(sale_id, STAFF))
        requests.delete(f"{self.emulator_url}/_emulator/faults", timeout=10)

    @rule(pick=PICK)
    def settle_refund(self, pick: int) -> None:
        with self.app.app_context():
            numbers = db.session.scalars(
                select(Refund.out_refund_no)
                .where(Refund.status == RefundStatus.PROCESSING)
                .order_by(Refund.id)
            ).all()
        number = self._pick(list(numbers), pick)
        if number is None:
            return
        response = requests.post(
            f"{self.emulator_url}/_emulator/wechat/settle-refund",
            json={"out_refund_no": number},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        with self.app.app_context():
            refund = db.session.scalar(select(Refund).where(Refund.out_refund_no == number))
            assert refund.status == RefundStatus.SUCCEEDED
            sale = db.session.scalar(select(AfterSale).where(AfterSale.refund_id == refund.id))
            if sale is not None:
                assert sale.status == S.REFUNDED and sale.refunded_fen == refund.amount_fen

    @rule(pick=PICK)
    def advance(self, pick: int) -> None:
        """The happy path's next move for one open after-sale (the walk reaches refunds)."""
        sale_id = self._pick(self._sales(*S.OPEN), pick)
        if sale_id is None:
            return
        with self.app.app_context():
            status = db.session.get(AfterSale, sale_id).status
        if status == S.APPLIED:
            self._try(lambda: service.agree(sale_id, STAFF, now=self.now))
        elif status == S.AGREED:
            self._try(lambda: service.ship_back(self.user_id, sale_id, "中通", "ZT0002"))
            self._try(lambda: service.start_refund(sale_id, STAFF))
        elif status == S.BUYER_SHIPPED:
            self._try(lambda: service.receive(sale_id, STAFF, sellable=True))
        elif status in (S.RECEIVED, S.REFUNDING):
            self._try(lambda: service.start_refund(sale_id, STAFF))
            self.settle_refund(pick)

    # ---- orders and the clock --------------------------------------------------------

    @rule(pick=PICK)
    def ship(self, pick: int) -> None:
        with self.app.app_context():
            unshipped = db.session.scalars(
                select(Order.id).where(Order.id.in_(self.order_ids), Order.shipped_at.is_(None))
            ).all()
        order_id = self._pick(list(unshipped), pick)
        if order_id is None:
            return
        self._try(lambda: shipments.ship_whole_order(order_id, "SF", f"SF{order_id:010d}"))

    @rule(pick=PICK)
    def confirm(self, pick: int) -> None:
        order_id = self.order_ids[pick % len(self.order_ids)]
        self.client.post(f"/api/v1/orders/{order_id}/confirm-receipt", headers=self.headers)

    @rule(hours=st.sampled_from([1, 12, 30, 75, 200]))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        with self.app.app_context():
            sweep(self.now)
            held = set(
                db.session.scalars(
                    select(AfterSale.order_item_id).where(AfterSale.status.in_(S.OPEN))
                ).all()
            )
            frozen_held = set(
                db.session.scalars(
                    select(Commission.id).where(
                        Commission.order_item_id.in_(held),
                        Commission.status == CommissionStatus.FROZEN,
                    )
                ).all()
            )
            settlement.auto_complete_orders(self.now)
            settlement.settle_due(self.now)
            db.session.expire_all()
            settled_now = set(
                db.session.scalars(
                    select(Commission.id).where(
                        Commission.id.in_(frozen_held),
                        Commission.status == CommissionStatus.SETTLED,
                    )
                ).all()
            )
            assert not settled_now, f"settled under an open after-sale: {settled_now}"

    # ---- invariants ------------------------------------------------------------------

    @invariant()
    def books_agree(self) -> None:
        if not self.order_ids:
            return
        self.drain_jobs()
        with self.app.app_context():
            assert check_all() == []
            for sale in db.session.scalars(select(AfterSale)):
                is_open = sale.status in S.OPEN
                assert (sale.open_item_id == sale.order_item_id) == is_open, sale.id
                assert (sale.closed_at is None) == is_open, sale.id
                moves = db.session.scalars(
                    select(AfterSaleLog)
                    .where(AfterSaleLog.aftersale_id == sale.id)
                    .order_by(AfterSaleLog.id)
                ).all()
                assert moves[0].from_status is None and moves[-1].to_status == sale.status
                for earlier, later in pairwise(moves):
                    assert later.from_status == earlier.to_status
                settled_on_line = db.session.scalars(
                    select(Commission).where(
                        Commission.order_item_id == sale.order_item_id,
                        Commission.status == CommissionStatus.SETTLED,
                    )
                ).all()
                if is_open:
                    for commission in settled_on_line:  # only if settled before it opened
                        assert commission.settled_at <= sale.created_at

    def teardown(self) -> None:
        self._auto_refund_notify(True)


MACHINE_SETTINGS = settings(
    max_examples=int(os.environ.get("WXDIST_AFTERSALE_EXAMPLES", "15")),
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_aftersales_state_machine(
    app: Flask, client: FlaskClient, emulator: EmulatorServer, run_jobs: Callable[[], int]
) -> None:
    AfterSalesMachine.app = app
    AfterSalesMachine.client = client
    AfterSalesMachine.emulator_url = emulator.url
    AfterSalesMachine.drain_jobs = staticmethod(run_jobs)  # type: ignore[assignment]
    run_state_machine_as_test(AfterSalesMachine, settings=MACHINE_SETTINGS)
