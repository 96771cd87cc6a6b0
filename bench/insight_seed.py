"""The shop bench/insight.py measures, generated in Python and bulk-loaded (LOAD DATA LOCAL
INFILE), with every derived row computed by the app's own rules; `check` then runs the
app's own checks over it.

What is written (Scale, defaults the issue's size; a year up to now):

- 20 categories, `products` products (one SKU each, prices 9.90-299 yuan, popularity
  skewed Zipf 1.0 within each category) and a picture each;
- `customers` users; users 1..`distributors` are approved distributors in a two-level
  forest (the first tenth roots, the next three tenths under a root, the rest under one
  of those) with a taste (one or two categories), two invite share codes (group, moments)
  and one product code each (30 for the top 1 %); 75 % of the other users are bound (a
  referral and its binding through one of the distributor's codes; Zipf 0.9 over the
  distributors, so a few have large audiences), the rest unbound. Codes' scans, opens and
  binds agree with the bindings;
- orders of 1-5 lines (2.5 on average; a line of the buyer's taste with probability 0.75,
  a bundle partner with 0.35) until `items` lines are written, paid between the buyer's
  arrival and now: paid, shipped or completed by age (10 days to complete), each with its
  payment; 4 % refunded (half wholly, half one line), each refund settled within 7 days;
- attribution as `distribution.commissions` writes it at the default settings: every paid
  order attributed on payment, the buyer's referrer and theirs (level 1 at 10 %, level 2
  at 5 %, `core.money.apply_rate`), records frozen, settled 7 days after completion, or
  cancelled with the whole amount clawed when their line was refunded; the distributors'
  accounts (frozen, available, lifetime) and team sales, the buyers' paid figures;
- `customer_stats` (as `customers.stats` keeps it: net orders and spend of attributed
  orders, first and last order, the latest binding's referrer and channel), five tags
  with a quarter of the customers holding one (with the copies of their sort keys);
- the report aggregates: each order's figures are `reporting.insight._state_of` and its
  contribution `reporting.insight._contribution` (the writer's own functions), refunds
  on the day of the last settled refund as `insight.rebuild` counts them; bindings add
  new team members; monthly rows (distributors', and the merchant's per product) sum the
  days as `insight.apply` does (`insight.monthly_key`); `report_orders`
  keeps each order's state.

Not written: ledger entries, the dashboard's daily_stats, search terms (nothing measured
reads them). `check` runs, over the whole shop, `customers.stats.check` and the report
totals of `flask reconcile` (`reporting.reconcile_reports.check_all`), and the real writer
`insight.record_orders` over a sample of orders, which must find nothing to add.
"""

from __future__ import annotations

import json
import random
import time
from bisect import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench._harness import Database, infile_connection, load_file, load_rows, tsv_line
from wxdist.core.money import apply_rate
from wxdist.reporting import insight

CATEGORIES = 20
PRICES = (990, 1990, 2990, 4990, 6990, 9990, 15900, 29900)
RATES = {1: 1000, 2: 500}  # the programme's default rates (distribution_settings)
FREEZE, COMPLETE, REFUND_WINDOW = timedelta(days=7), timedelta(days=10), timedelta(days=7)
TAGS = ("高价值", "复购", "潜客", "沉睡", "新客")
OWNER, OWNER_PASSWORD = "insight-owner", "insight-bench-2026"


@dataclass(frozen=True)
class Scale:
    customers: int = 1_000_000
    items: int = 5_000_000
    distributors: int = 50_000
    products: int = 20_000
    days: int = 365


def _ts(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="microseconds")


class _Picker:
    """Weighted draws in O(log n) (cumulative weights)."""

    def __init__(self, rng: random.Random, items: list[int], weights: list[float]) -> None:
        self.rng, self.items = rng, items
        self.cum = list(accumulate(weights))

    def __call__(self) -> int:
        return self.items[bisect(self.cum, self.rng.random() * self.cum[-1])]


class Shop:
    """The generated shop, in memory until `write` streams it to the server."""

    def __init__(self, scale: Scale, now: datetime, seed: int = 16) -> None:
        self.scale, self.now = scale, now
        self.start = now - timedelta(days=scale.days)
        self.rng = rng = random.Random(seed)
        n_products = scale.products
        self.price = [0] + [rng.choice(PRICES) for _ in range(n_products)]
        self.category = [0] + [1 + p % CATEGORIES for p in range(n_products)]
        rank = list(range(1, n_products + 1))
        rng.shuffle(rank)
        members: dict[int, list[int]] = defaultdict(list)
        for p in range(1, n_products + 1):
            members[self.category[p]].append(p)
        self.in_category = {
            c: _Picker(rng, ps, [1.0 / rank[p - 1] for p in ps]) for c, ps in members.items()
        }
        self.anywhere = _Picker(rng, rank, [1.0 / r for r in rank])  # any product, skewed
        self.partner = [0] + [rng.randint(1, n_products) for _ in range(n_products)]

    # ------------------------------------------------------------------- people

    def people(self) -> None:
        s, rng, span = self.scale, self.rng, (self.now - self.start).total_seconds()
        n_d = s.distributors
        self.parent: dict[int, int] = {}
        self.created = [self.start] * (s.customers + 1)
        self.taste: list[list[int]] = [[]] * (s.customers + 1)
        self.codes: dict[int, list[tuple[int, str]]] = {}  # distributor -> [(code id, channel)]
        self.code_rows: list[list[Any]] = []
        self.bindings: list[tuple[int, int, int, str, datetime]] = []  # user, to, code, ch, at
        for d in range(1, n_d + 1):
            self.created[d] = self.start + timedelta(seconds=rng.uniform(0, 0.3) * span)
            self.taste[d] = rng.sample(range(1, CATEGORIES + 1), 1 if rng.random() < 0.6 else 2)
            if d > n_d // 10:
                low, high = (1, n_d // 10) if d <= 4 * n_d // 10 else (n_d // 10 + 1, 4 * n_d // 10)
                self.parent[d] = rng.randint(max(low, 1), max(high, 1))
            products = {self.in_category[rng.choice(self.taste[d])]()}
            while d <= max(n_d // 100, 1) and len(products) < 28:
                products.add(self.in_category[rng.choice(self.taste[d])]())
            mine = []
            for product, channel in [(0, "group"), (0, "moments"), *((p, "") for p in products)]:
                code_id = len(self.code_rows) + 1
                self.code_rows.append(
                    [
                        code_id,
                        f"i{code_id}",
                        d,
                        product or None,
                        product,
                        channel,
                        0,
                        0,
                        0,
                        _ts(self.created[d]),
                    ]
                )
                mine.append((code_id, channel))
            self.codes[d] = mine
        for d, parent in self.parent.items():
            self._bind(d, parent, self.created[d])
        weights = [1.0 / d**0.9 for d in range(1, n_d + 1)]
        referrer = _Picker(rng, list(range(1, n_d + 1)), weights)
        for u in range(n_d + 1, s.customers + 1):
            self.created[u] = self.start + timedelta(seconds=rng.uniform(0, span - 86400))
            if rng.random() < 0.75:
                d = referrer()
                self.parent[u] = d
                self._bind(u, d, self.created[u])
                own = self.taste[d] if rng.random() < 0.8 else [rng.randint(1, CATEGORIES)]
            else:
                own = [rng.randint(1, CATEGORIES)]
            self.taste[u] = own
        for code in self.code_rows:  # scans >= opens >= binds
            code[7] = code[8] + self.rng.randint(0, 40)
            code[6] = code[7] + self.rng.randint(0, 200)

    def _bind(self, user: int, to: int, at: datetime) -> None:
        codes = self.codes[to]
        roll = self.rng.random()
        code_id, channel = (
            codes[0] if roll < 0.5 else codes[1] if roll < 0.8 else (self.rng.choice(codes[2:]))
        )
        self.code_rows[code_id - 1][8] += 1
        self.bindings.append((user, to, code_id, channel, at))

    # ------------------------------------------------------------------- orders

    def orders(self) -> list[tuple[float, int, list[tuple[int, int]]]]:
        """(paid at, seconds after start; buyer; [(product, quantity)]) in time order."""
        s, rng = self.scale, self.rng
        customers = list(range(s.distributors + 1, s.customers + 1))
        per_buyer = s.items / 2.5 / (0.7 * len(customers))
        end = (self.now - self.start).total_seconds() - 60
        found: list[tuple[float, int, list[tuple[int, int]]]] = []
        items = 0

        def one(u: int) -> None:
            nonlocal items
            lines: dict[int, int] = {}
            for _ in range(rng.choices((1, 2, 3, 4, 5), (30, 25, 20, 15, 10))[0]):
                if lines and rng.random() < 0.35:
                    product = self.partner[next(iter(lines))]
                elif rng.random() < 0.75:
                    product = self.in_category[rng.choice(self.taste[u])]()
                else:
                    product = self.anywhere()
                lines[product] = 2 if rng.random() < 0.2 else 1
            picked = list(lines.items())[: s.items - items]
            items += len(picked)
            since = (self.created[u] - self.start).total_seconds() + 60
            found.append((rng.uniform(since, end), u, picked))

        for u in customers:
            if rng.random() < 0.7:
                for _ in range(1 + int(rng.expovariate(1 / max(per_buyer - 0.5, 0.01)))):
                    if items < s.items:
                        one(u)
        while items < s.items:
            one(rng.choice(customers))
        found.sort()
        return found

    # ------------------------------------------------------------------- writing

    def write(self, db: Database, workdir: Path, say: Any) -> None:
        """Generate the orders and everything derived from them, then load every table."""
        conn = infile_connection(db)
        started = time.perf_counter()
        self.people()
        say("people, share codes, bindings generated", started)
        started = time.perf_counter()
        placed = self.orders()
        say(f"{len(placed):,} orders generated", started)
        started = time.perf_counter()
        derived = self._write_orders(placed, workdir)
        say("orders, lines, payments, refunds, commissions, report states written", started)
        del placed
        started = time.perf_counter()
        for table, columns in derived.files:
            loaded = load_file(conn, workdir / f"{table}.tsv", table, columns)
            say(f"loaded {loaded:,} {table}", started)
            started = time.perf_counter()
        started = time.perf_counter()
        self._load_rest(conn, workdir, derived)
        say("users, distributors, catalogue, referrals, stats, tags, reports loaded", started)
        started = time.perf_counter()
        with conn.cursor() as cur:
            for table in (
                "users",
                "orders",
                "order_items",
                "commissions",
                "customer_stats",
                "user_tags",
                "referrals",
                "share_codes",
                "report_daily",
                "report_monthly",
                "report_product_daily",
                "report_channel_daily",
            ):
                cur.execute(f"ANALYZE TABLE {table}")
                cur.fetchall()
        conn.close()
        say("ANALYZE TABLE", started)

    def _write_orders(self, placed: list[Any], workdir: Path) -> SimpleNamespace:
        """Each order and what it leaves, streamed to files; returns the files and the
        figures gathered for the tables loaded after them."""
        out = _OrderWriter(self, workdir)
        for order_id, (offset, buyer, lines) in enumerate(placed, start=1):
            out.order(order_id, self.start + timedelta(seconds=offset), buyer, lines)
        out.close()
        totals = out.totals
        for user, to, _code, _channel, at in self.bindings:  # insight.count_member
            day = insight.local_day(at)
            totals[("daily", (to, day))]["new_members"] += 1
            totals[("daily", (insight.merchant_key(user), day))]["new_members"] += 1
        for (table, key), counters in list(totals.items()):  # insight.apply: the months
            month = insight.monthly_key(table, key)
            if month is not None:
                row = totals[(insight.MONTHLY[table], month)]
                for counter, amount in counters.items():
                    row[counter] += amount
        return SimpleNamespace(
            files=list(ORDER_FILES.items()),
            stats=out.stats,
            accounts=out.accounts,
            units=out.units,
            totals=totals,
        )

    def _load_rest(self, conn: Any, workdir: Path, derived: SimpleNamespace) -> None:
        s, now = self.scale, _ts(self.now)
        stats, accounts = derived.stats, derived.accounts
        load = lambda table, columns, rows: load_rows(conn, workdir, table, columns, rows)  # noqa: E731
        load(
            "categories",
            "id, name, sort, is_active",
            ((c, f"品类{c}", c, 1) for c in range(1, CATEGORIES + 1)),
        )
        load(
            "products",
            "id, category_id, title, subtitle, description, on_shelf, sort,"
            " min_price_fen, max_price_fen, sales_count, cover_url, created_at, updated_at",
            (
                (
                    p,
                    self.category[p],
                    f"商品{p}",
                    "",
                    "",
                    1,
                    0,
                    self.price[p],
                    self.price[p],
                    derived.units.get(p, 0),
                    f"https://img.example/p/{p}.jpg",  # its one picture, below
                    _ts(self.start),
                    _ts(self.start),
                )
                for p in range(1, s.products + 1)
            ),
        )
        load(
            "skus",
            "id, product_id, name, price_fen, stock, sold, is_active",
            ((p, p, "标准", self.price[p], 100_000, 0, 1) for p in range(1, s.products + 1)),
        )
        load(
            "product_images",
            "product_id, url, sort",
            ((p, f"https://img.example/p/{p}.jpg", 0) for p in range(1, s.products + 1)),
        )
        load(
            "users",
            "id, openid, nickname, avatar_url, token_version, created_at,"
            " last_login_at, paid_orders, paid_spend_fen",
            (
                (
                    u,
                    f"ins-{u}",
                    f"客户{u}",
                    "",
                    1,
                    _ts(self.created[u]),
                    _ts(self.created[u]),
                    *(stats[u][:2] if u in stats else (0, 0)),
                )
                for u in range(1, s.customers + 1)
            ),
        )
        invites = defaultdict(int)
        for _user, to, *_rest in self.bindings:
            invites[to] += 1
        load(
            "distributors",
            "user_id, status, real_name, phone, reason, review_note,"
            " applied_at, reviewed_at, approved_at, direct_invites, team_sales_fen",
            (
                (
                    d,
                    "approved",
                    f"王{d}",
                    f"138{d:08d}",
                    "",
                    "",
                    _ts(self.created[d]),
                    _ts(self.created[d]),
                    _ts(self.created[d]),
                    invites[d],
                    accounts[d][2],
                )
                for d in range(1, s.distributors + 1)
            ),
        )
        load(
            "distributor_accounts",
            "user_id, frozen_fen, available_fen, withdrawing_fen, lifetime_earned_fen, updated_at",
            (
                (d, accounts[d][0], accounts[d][1], 0, accounts[d][1], now)
                for d in range(1, s.distributors + 1)
            ),
        )
        load(
            "share_codes",
            "id, scene, distributor_id, product_id, product_key, channel,"
            " scans, opens, binds, created_at",
            self.code_rows,
        )
        load(
            "referral_bindings",
            "id, user_id, referrer_id, scene, share_code_id, channel, source, created_at",
            (
                (n, u, to, f"i{code}", code, channel, "login", _ts(at))
                for n, (u, to, code, channel, at) in enumerate(self.bindings, start=1)
            ),
        )

        def referral(u: int) -> tuple[Any, ...]:
            chain, up = [], self.parent.get(u)
            while up is not None:
                chain.append(up)
                up = self.parent.get(up)
            path = "/" + "".join(f"{a}/" for a in reversed(chain))
            return (
                u,
                chain[0] if chain else None,
                chain[1] if len(chain) > 1 else None,
                path,
                len(chain),
                _ts(self.created[u]) if chain else None,
            )

        load(
            "referrals",
            "user_id, parent_id, grandparent_id, path, depth, bound_at",
            (referral(u) for u in range(1, s.customers + 1)),
        )
        latest = {u: (to, channel) for u, to, _code, channel, _at in self.bindings}

        def customer(u: int) -> tuple[Any, ...]:
            orders, spend, first, last = stats.get(u, (0, 0, None, None))
            source, channel = latest.get(u, (None, ""))
            return (
                u,
                _ts(self.created[u]),
                source,
                channel,
                orders,
                spend,
                first and _ts(first),
                last and _ts(last),
            )

        load(
            "customer_stats",
            "user_id, created_at, source_id, channel, orders, spend_fen,"
            " first_order_at, last_order_at",
            (customer(u) for u in range(1, s.customers + 1)),
        )
        load(
            "customer_tags",
            "id, name, created_at",
            ((n, name, now) for n, name in enumerate(TAGS, start=1)),
        )
        load(
            "user_tags",
            "user_id, tag_id, tagged_at, created_at, spend_fen, last_order_at",
            (
                (row[0], 1 + row[0] * 7919 % len(TAGS), now, row[1], row[5], row[7])
                for row in map(customer, range(s.distributors + 1, s.customers + 1, 4))
            ),
        )
        for table, name in (
            ("daily", "report_daily"),
            ("monthly", "report_monthly"),
            ("channel", "report_channel_daily"),
            ("product", "report_product_daily"),
            ("product_monthly", "report_product_monthly"),
            ("code", "report_share_codes"),
        ):
            _model, keys, counters = insight.TABLES[table]
            load(
                name,
                ", ".join((*keys, *counters)),
                (
                    (*key, *(c.get(n, 0) for n in counters))
                    for (t, key), c in derived.totals.items()
                    if t == table
                ),
            )


ORDER_FILES = {
    "orders": "id, order_no, user_id, status, goods_fen, shipping_fen, discount_fen,"
    " payable_fen, paid_fen, refunded_fen, pay_channel, referrer_l1_id, referrer_l2_id,"
    " attributed_at, commission_settled_at, receiver_name, receiver_phone, receiver_region,"
    " receiver_detail, remark, created_at, expires_at, paid_at, shipped_at, completed_at",
    "order_items": "id, order_id, product_id, sku_id, title, sku_name, image_url, price_fen,"
    " quantity, amount_fen, paid_fen, commission_base_fen, refunded_fen",
    "payments": "id, order_id, channel, out_trade_no, amount_fen, status, transaction_id,"
    " created_at, paid_at, refunded_fen",
    "refunds": "id, order_id, payment_id, order_item_id, out_refund_no, amount_fen, reason,"
    " status, created_at, settled_at",
    "commissions": "id, order_id, order_item_id, buyer_id, beneficiary_id, level, base_fen,"
    " rate_bp, rate_source, amount_fen, clawed_fen, status, created_at, settled_at,"
    " campaign_extra_fen",
    "report_orders": "order_id, distributor_id, share_code_id, channel, paid_day, state",
}


class _OrderWriter:
    """Writes one order at a time (its lines, payment, refunds, commission records and
    report state) and gathers the figures it moves."""

    def __init__(self, shop: Shop, workdir: Path) -> None:
        self.shop, self.rng, self.now = shop, shop.rng, shop.now
        self.out = {t: (workdir / f"{t}.tsv").open("w", encoding="utf-8") for t in ORDER_FILES}
        self.origin = {(u, to): (code, ch) for u, to, code, ch, _at in shop.bindings}
        self.stats: dict[int, list[Any]] = {}  # user -> [orders, spend, first, last]
        self.accounts: dict[int, list[int]] = defaultdict(
            lambda: [0, 0, 0]
        )  # frozen, available, team
        self.units: dict[int, int] = defaultdict(int)
        self.totals: dict[tuple[str, tuple[Any, ...]], dict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        self.item_id = self.commission_id = self.refund_id = 0

    def close(self) -> None:
        for handle in self.out.values():
            handle.close()

    def _write(self, table: str, *row: Any) -> None:
        self.out[table].write(tsv_line(row))

    def order(self, order_id: int, paid_at: datetime, buyer: int, lines: list[Any]) -> None:
        age = self.now - paid_at
        status = "completed" if age > COMPLETE else "shipped" if age > timedelta(3) else "paid"
        completed_at = paid_at + COMPLETE if status == "completed" else None
        settled = completed_at + FREEZE if completed_at and age > COMPLETE + FREEZE else None
        l1 = self.shop.parent.get(buyer)
        l2 = self.shop.parent.get(l1) if l1 is not None else None
        roll = self.rng.random()  # 2 %: the whole order refunded; 2 %: its first line
        refund_at = min(paid_at + REFUND_WINDOW * self.rng.random(), self.now - timedelta(0, 30))
        items = [
            self._line(
                order_id,
                buyer,
                product,
                quantity,
                roll < 0.02 or (roll < 0.04 and n == 0),
                (l1, l2),
                settled,
                paid_at,
            )
            for n, (product, quantity) in enumerate(lines)
        ]
        records = [record for _item, mine in items for record in mine]
        paid = sum(item.paid_fen for item, _r in items)
        refunded = sum(item.refunded_fen for item, _r in items)
        if refunded == paid:
            status, completed_at, settled = "refunded", None, None
        for who in {l1, l2} - {None}:
            self.accounts[who][2] += paid  # type: ignore[index]
        when = _ts(paid_at)
        shipped = when if status in ("shipped", "completed") else None
        self._write(
            "orders",
            order_id,
            f"INS{order_id:012d}",
            buyer,
            status,
            paid,
            0,
            0,
            paid,
            paid,
            refunded,
            "wechat",
            l1,
            l2,
            when,
            settled and _ts(settled),
            "张三",
            "13800138000",
            "上海市 浦东新区",
            "世纪大道 100 号",
            "",
            when,
            when,
            when,
            shipped,
            completed_at and _ts(completed_at),
        )
        self._write(
            "payments",
            order_id,
            order_id,
            "wechat",
            f"INSP{order_id}",
            paid,
            "paid",
            f"INST{order_id}",
            when,
            when,
            refunded,
        )
        whole = refunded == paid and len(items) > 1  # one refund of the order, else per line
        refunds = [None] if whole else [item for item, _r in items if item.refunded_fen]
        for item in refunds if refunded else []:
            self.refund_id += 1
            self._write(
                "refunds",
                self.refund_id,
                order_id,
                order_id,
                item and item.id,
                f"INSR{self.refund_id}",
                item.refunded_fen if item else paid,
                "不想要了",
                "succeeded",
                _ts(refund_at - timedelta(hours=1)),
                _ts(refund_at),
            )
        mine = self.stats.setdefault(buyer, [0, 0, paid_at, paid_at])
        mine[0] += 1 if refunded < paid else 0
        mine[1] += paid - refunded
        mine[3] = paid_at
        count = len(refunds) if refunded else 0
        figures = insight._state_of(
            SimpleNamespace(paid_fen=paid, refunded_fen=refunded),
            [item for item, _r in items],
            records,
            count,
        )
        self._count(order_id, buyer, l1, paid_at, refund_at if count else paid_at, figures)

    def _line(
        self,
        order_id: int,
        buyer: int,
        product: int,
        quantity: int,
        refund: bool,
        chain: tuple[int | None, int | None],
        settled: datetime | None,
        paid_at: datetime,
    ) -> tuple[SimpleNamespace, list[SimpleNamespace]]:
        """One order line and its commission records (level 1 and 2 at the default rates,
        `core.money.apply_rate`, as distribution.commissions computes them)."""
        self.item_id += 1
        price = self.shop.price[product]
        amount = price * quantity
        refunded = amount if refund else 0
        self._write(
            "order_items",
            self.item_id,
            order_id,
            product,
            product,
            f"商品{product}",
            "标准",
            "",
            price,
            quantity,
            amount,
            amount,
            amount,
            refunded,
        )
        if not refunded:
            self.units[product] += quantity
        records = []
        for level, who in ((1, chain[0]), (2, chain[1])):
            if who is None:
                continue
            self.commission_id += 1
            earned = apply_rate(amount, RATES[level])
            clawed = earned if refunded else 0
            status = "cancelled" if refunded else "settled" if settled else "frozen"
            records.append(
                SimpleNamespace(
                    order_item_id=self.item_id,
                    level=level,
                    beneficiary_id=who,
                    amount_fen=earned,
                    clawed_fen=clawed,
                )
            )
            self._write(
                "commissions",
                self.commission_id,
                order_id,
                self.item_id,
                buyer,
                who,
                level,
                amount,
                RATES[level],
                "default",
                earned,
                clawed,
                status,
                _ts(paid_at),
                settled and _ts(settled),
                0,
            )
            if not refunded:
                self.accounts[who][1 if settled else 0] += earned
        line = SimpleNamespace(
            id=self.item_id, product_id=product, paid_fen=amount, refunded_fen=refunded
        )
        return line, records

    def _count(
        self,
        order_id: int,
        buyer: int,
        l1: int | None,
        paid_at: datetime,
        later: datetime,
        figures: dict[str, Any],
    ) -> None:
        """The order's report state and contribution, by the writer's own functions
        (reporting.insight); refunds count on the day of the last one, as its rebuild does."""
        code, channel = self.origin.get((buyer, l1), (None, "")) if l1 else (None, "")
        day = insight.local_day(paid_at)
        later_day = insight.local_day(later)
        meta = insight._Meta(order_id, l1, code, channel, day)
        for (table, key, counter), amount in insight._contribution(meta, figures).items():
            if table != "code" and key[1] is None:
                key = (key[0], later_day, *key[2:])
            if amount:
                self.totals[(table, key)][counter] += amount
        self._write(
            "report_orders",
            order_id,
            l1,
            code,
            channel,
            day,
            json.dumps(figures, separators=(",", ":")),
        )


def check(sample: int = 2000) -> list[str]:
    """The app's checks over the seeded shop (in an app context): problems, empty if none."""
    from wxdist.core.extensions import db
    from wxdist.customers import stats
    from wxdist.models import Order
    from wxdist.reporting import reconcile_reports

    problems = stats.check() + reconcile_reports.check_all()
    ids = list(
        db.session.scalars(
            db.select(Order.id)
            .where(Order.attributed_at.is_not(None))
            .order_by(db.func.rand(16))
            .limit(sample)
        )
    )
    added: list[Any] = []
    real_apply = insight.apply
    insight.apply = lambda changes, today: added.extend(  # type: ignore[assignment]
        (key, amount) for key, amount in changes.items() if amount
    )
    try:
        insight.record_orders(ids)
    finally:
        insight.apply = real_apply
        db.session.rollback()
    if added:
        problems.append(f"insight.record_orders over {len(ids)} orders would add {added[:5]}")
    return problems
