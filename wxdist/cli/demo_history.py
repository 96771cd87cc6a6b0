"""A demo order history for the recommendations (`flask seed --history`, and
bench/recommend_eval.py, which also generates a larger one with the same code).

The demo catalogue's six products are too few to rank: any top 10 holds them all, so a
recommender and "the best sellers" would score the same. `seed_demo_extra_catalogue` adds
36 products in the same style (three more categories, more of the first three: 42 in 6), and
`seed_history` writes shoppers, approved distributors with the shoppers they brought, and
paid orders (each with its payment, so `flask reconcile` stays clean) with the structure
real shops show: each distributor's audience shares a taste (favourite categories), some
products are bought together (bundles), and popularity is skewed (Zipf). Orders are
written directly (no gateway): this is history to rank from, not a purchase to show.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from wxdist.core.extensions import db
from wxdist.models import (
    Category,
    Distributor,
    Order,
    OrderItem,
    Payment,
    Product,
    ProductImage,
    Referral,
    ShareCode,
    Sku,
    User,
)
from wxdist.models.types import utcnow

DEMO_EXTRA = [
    ("茶叶", [("安吉白茶 100g", 16800), ("武夷大红袍 200g", 22800), ("茉莉花茶 250g", 6800),
              ("滇红金芽 150g", 12800), ("福鼎老白茶饼", 25800), ("冻顶乌龙 300g", 13800)]),
    ("日用", [("纯棉浴巾", 8900), ("竹炭牙刷 4 支", 2990), ("香薰蜡烛", 4900),
              ("收纳盒三件套", 5900), ("棉麻抱枕", 6900), ("不锈钢保温杯", 9900)]),
    ("零食", [("芒果干 500g", 3990), ("海苔脆片 10 包", 2990), ("黑芝麻丸 2 盒", 5900),
              ("蛋黄酥 6 枚", 3600), ("坚果礼盒", 16800), ("猪肉脯 300g", 4500)]),
    ("茶具", [("汝窑茶杯四只", 12800), ("玻璃公道杯", 3900), ("便携旅行茶具", 15800),
              ("竹制茶盘", 19800), ("紫砂壶", 36800), ("铁壶煮水器", 29800)]),
    ("个护", [("洗发水 500ml", 6900), ("护手霜三支", 4500), ("沐浴露 1L", 5900),
              ("羊毛梳", 3500), ("面膜 10 片", 9900), ("润唇膏两支", 2900)]),
    ("酒水", [("黄酒 500ml 六瓶", 15800), ("米酒 1L", 3900), ("青梅酒 720ml", 8800),
              ("精酿啤酒 12 罐", 12800), ("桂花酿", 6800), ("葡萄酒礼盒", 29800)]),
]  # fmt: skip


def seed_demo_extra_catalogue() -> int:
    """Add DEMO_EXTRA (on shelf, in stock, drawn pictures) unless it is there already;
    returns how many products were created."""
    from wxdist.cli.demo_data import demo_picture_url

    titles = set(db.session.scalars(select(Product.title)))
    categories = {c.name: c for c in db.session.scalars(select(Category))}
    created = 0
    for name, products in DEMO_EXTRA:
        category = categories.get(name)
        if category is None:
            category = Category(name=name, sort=len(categories))
            db.session.add(category)
            db.session.flush()
            categories[name] = category
        for title, price in products:
            if title in titles:
                continue
            db.session.add(
                Product(
                    category_id=category.id, title=title, on_shelf=True, sort=50,
                    images=[ProductImage(url=demo_picture_url(title, created + 6), sort=0)],
                    skus=[Sku(name="标准", price_fen=price, stock=500)],
                )
            )  # fmt: skip
            created += 1
    db.session.commit()
    return created


@dataclass(frozen=True)
class HistorySpec:
    distributors: int = 30
    shoppers_per_distributor: int = 4  # on average
    unbound_shoppers: int = 100
    orders_per_shopper: float = 1.5  # on average
    days: int = 90
    affinity: float = 0.75  # share of a shopper's purchases in their taste
    bundle_rate: float = 0.35  # chance an order adds the bought product's partner
    zipf: float = 1.0  # popularity skew within the catalogue
    seed: int = 16
    prefix: str = "demo"


@dataclass(frozen=True)
class History:
    start: datetime
    end: datetime
    distributors: int
    shoppers: int
    orders: int
    items: int


class _Shop:
    """The catalogue as the generator draws from it."""

    def __init__(self, rng: random.Random, zipf: float) -> None:
        rows = db.session.execute(
            select(Product.id, Product.category_id, Sku.id, Sku.price_fen, Product.title)
            .join(Sku, Sku.product_id == Product.id)
            .where(Product.on_shelf.is_(True))
            .order_by(Product.id)
        ).all()
        self.sku = {r[0]: (r[2], r[3], r[4]) for r in rows}
        products = list(self.sku)
        order = products[:]
        rng.shuffle(order)
        self.weight = {p: 1.0 / (i + 1) ** zipf for i, p in enumerate(order)}
        self.by_category: dict[int | None, list[int]] = {}
        self.category = {r[0]: r[1] for r in rows}
        for p in products:
            self.by_category.setdefault(self.category[p], []).append(p)
        self.categories = sorted(self.by_category, key=lambda c: c or 0)
        # Bundles: each product's partner, in another category (tea and a tea cup).
        self.partner = {}
        for p in products:
            others = [q for q in products if q != p and self.category_of(q) != self.category_of(p)]
            self.partner[p] = rng.choice(others) if others else p
        self.rng = rng

    def category_of(self, product_id: int) -> int | None:
        return self.category[product_id]

    def pick(self, category: int | None) -> int:
        members = self.by_category[category] if category in self.by_category else list(self.sku)
        return self.rng.choices(members, weights=[self.weight[p] for p in members])[0]


class _Writer:
    """Rows gathered for bulk inserts, with ids given here (one statement per table)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, object]]] = {}
        self.next_id: dict[str, int] = {}

    def new_id(self, model: type) -> int:
        table = model.__tablename__  # type: ignore[attr-defined]
        if table not in self.next_id:
            self.next_id[table] = (db.session.scalar(select(db.func.max(model.id))) or 0) + 1  # type: ignore[attr-defined]
        self.next_id[table] += 1
        return self.next_id[table] - 1

    def add(self, model: type, **row: object) -> None:
        self.rows.setdefault(model.__tablename__, []).append(row)  # type: ignore[attr-defined]

    def flush(self) -> None:
        order = (User, Distributor, Referral, ShareCode, Order, OrderItem, Payment)
        for model in order:
            rows = self.rows.pop(model.__tablename__, [])
            for start in range(0, len(rows), 5000):
                db.session.execute(insert(model.__table__), rows[start : start + 5000])
        db.session.commit()


def _order(
    w: _Writer, shop: _Shop, spec: HistorySpec, buyer: int, taste: list[int | None],
    when: datetime, referrer: int | None,
) -> int:  # fmt: skip
    """One completed order of `buyer` at `when`; returns its number of lines."""
    rng = shop.rng
    first = shop.pick(rng.choice(taste) if rng.random() < spec.affinity else "any")
    products = [first]
    if rng.random() < spec.bundle_rate and shop.partner[first] != first:
        products.append(shop.partner[first])
    order_id = w.new_id(Order)
    total = 0
    for product in products:
        sku_id, price, title = shop.sku[product]
        quantity = 2 if rng.random() < 0.2 else 1
        total += price * quantity
        w.add(OrderItem, id=w.new_id(OrderItem), order_id=order_id, product_id=product,
              sku_id=sku_id, title=title, sku_name="标准", image_url="", price_fen=price,
              quantity=quantity, amount_fen=price * quantity, paid_fen=price * quantity,
              commission_base_fen=price * quantity, refunded_fen=0)  # fmt: skip
    w.add(Order, id=order_id, order_no=f"{spec.prefix}{order_id:012d}"[:32], user_id=buyer,
          status="completed", goods_fen=total, shipping_fen=0, discount_fen=0,
          payable_fen=total, paid_fen=total, refunded_fen=0, pay_channel="wechat",
          referrer_l1_id=referrer, attributed_at=when if referrer else None,
          receiver_name="演示", receiver_phone="13800138000", receiver_region="上海市",
          receiver_detail="演示路 1 号", remark="", created_at=when, expires_at=when,
          paid_at=when, completed_at=when)  # fmt: skip
    w.add(Payment, id=w.new_id(Payment), order_id=order_id, channel="wechat",
          out_trade_no=f"{spec.prefix}p{order_id}"[:32], amount_fen=total, status="paid",
          transaction_id=f"{spec.prefix}t{order_id}"[:64], created_at=when, paid_at=when,
          refunded_fen=0)  # fmt: skip
    return len(products)


def _user(w: _Writer, spec: HistorySpec, n: int, when: datetime) -> int:
    user_id = w.new_id(User)
    w.add(User, id=user_id, openid=f"{spec.prefix}-{n}", nickname=f"演示{n}", token_version=1,
          paid_orders=0, paid_spend_fen=0, created_at=when, last_login_at=when)  # fmt: skip
    return user_id


def seed_history(spec: HistorySpec, end: datetime | None = None) -> History:
    """Write a history of `spec.days` days up to `end` (now) over the on-shelf catalogue."""
    rng = random.Random(spec.seed)
    end = end or utcnow()
    start = end - timedelta(days=spec.days)
    shop = _Shop(rng, spec.zipf)
    w = _Writer()
    counter = orders = items = 0

    def at(lo: float, hi: float = 1.0) -> datetime:
        return start + timedelta(seconds=rng.uniform(lo, hi) * spec.days * 86400)

    for _ in range(spec.distributors):
        counter += 1
        d = _user(w, spec, counter, start)
        w.add(Distributor, user_id=d, status="approved", real_name="演示", phone="", reason="",
              review_note="", applied_at=start, approved_at=start, direct_invites=0,
              team_sales_fen=0)  # fmt: skip
        taste = [rng.choice(shop.categories)]
        if rng.random() < 0.4:
            taste.append(rng.choice(shop.categories))
        for product in {shop.pick(rng.choice(taste)) for _ in range(2)}:
            w.add(ShareCode, id=w.new_id(ShareCode), scene=f"{spec.prefix}{d}p{product}"[:32],
                  distributor_id=d, product_id=product, product_key=product, channel="",
                  coupon_key=0, scans=rng.randint(5, 200), opens=0, binds=0, claims=0,
                  created_at=start)  # fmt: skip
        for _ in range(max(1, round(rng.expovariate(1 / spec.shoppers_per_distributor)))):
            counter += 1
            bound = at(0.0, 0.8)
            buyer = _user(w, spec, counter, bound)
            w.add(Referral, user_id=buyer, parent_id=d, path=f"/{d}/", depth=1, bound_at=bound)
            own = taste if rng.random() < 0.8 else [rng.choice(shop.categories)]
            for _ in range(max(1, round(rng.expovariate(1 / spec.orders_per_shopper)))):
                when = bound + (end - bound) * rng.random()
                items += _order(w, shop, spec, buyer, own, when, d)
                orders += 1
    for _ in range(spec.unbound_shoppers):
        counter += 1
        buyer = _user(w, spec, counter, start)
        own = [rng.choice(shop.categories)]
        for _ in range(max(1, round(rng.expovariate(1 / spec.orders_per_shopper)))):
            items += _order(w, shop, spec, buyer, own, at(0.0), None)
            orders += 1
    w.flush()
    return History(start, end, spec.distributors, counter - spec.distributors, orders, items)
