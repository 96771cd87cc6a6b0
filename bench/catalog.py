"""Catalogue benchmark: search, filters and sorts of GET /api/v1/products at 100,000 products
and 1,000,000 order items, against the p95 target.

Run (from the repository root; needs MariaDB at 127.0.0.1:3306 as root without password,
with `local_infile` on, and `wrk` (`apt-get install -y wrk`); never part of the test suite):

    .venv/bin/python bench/catalog.py [--products 100000] [--order-items 1000000]
                                      [--seconds 8] [--connections 2] [--deep-page 1000]
                                      [--worker-class sync|gthread] [--keep-db]

What it does, on a fresh MariaDB database `wxdist_bench_<random>` (dropped at the end):

1. migrates, then seeds in bulk (untimed, figures printed): 24 categories; `--products`
   products (95 % on shelf, created over a year) whose Chinese titles are built from a
   vocabulary (brand, adjective, material, item, size: "小米 加厚不锈钢保温杯 500ml"), so
   the bigrams a shopper types have a realistic spread (an item word is in ~1/40 of the
   titles, a material in ~1/20); two SKUs each and one picture; their search terms
   (wxdist.catalog.search.title_terms, loaded with LOAD DATA LOCAL INFILE); paid orders of
   4 lines, `--order-items` lines in all (INSERT ... SELECT from MariaDB's sequence
   engine), skewed so a few products sell most; then each product's `sales_count` from its
   lines, as wxdist.catalog.sales keeps it, and ANALYZE TABLE;
2. starts the app under gunicorn (2 sync workers, loopback) and runs each phase for
   `--seconds` with `wrk` (bench/wrk_records.lua), `--connections` at a time (default 2:
   one per worker, so the latency is the request's, not a queue's), each request taken in
   turn from a few hundred different ones of its kind, anonymous as a shopper browsing:
   - search-2char: `q=<two characters>` (a vocabulary word), the default order, page 1;
   - cat+price: `category_id` and a price range, by sales, page 1;
   - each sort (sales, price_asc, price_desc, newest), page 1 and page `--deep-page`
     (20 per page: offset 19,980 by default);
3. the ceiling (bench/ceiling_app.py: one transaction per request on a hot row) under the
   same gunicorn settings on the same database, for scale: what one trivial request costs.

Every answer must be 200 with an `items` list. Output: a table per phase (requests,
errors, throughput, p50 / p95 / p99 ms, CPU ms per request of the app and MariaDB), the
ceiling, and the verdict: each phase's p95 < 50 ms with no errors. Exit status 0 when
every phase answered without errors (the verdict does not change it).

A listing phase is one entry of `phases()` (a name and its request records). After them,
the cart-checkout phase (bench/catalog_checkout.py, whose docstring has the method):
`--shoppers` shoppers seeded in bulk with signed tokens and carts of 1-3 selected lines,
each POSTing /api/v1/cart/checkout once under wrk (a 201 is a success, anything else an
error); its throughput is judged as a ratio of the same run's ceiling (>= 0.5), and the
database is checked afterwards (one order per 201, each cart emptied by its order).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pymysql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `config`, `wxdist` importable
    sys.path.insert(0, str(ROOT))

from bench._harness import (  # noqa: E402
    Ceiling,
    Check,
    Database,
    Gunicorn,
    PhaseResult,
    Service,
    app_env,
    create_ceiling_tables,
    free_port,
    infile_connection,
    load_rows,
    migrate,
    pids_named,
    print_checks,
    process_tree,
    require_wrk,
    run_wrk,
    start_service,
    wait_http,
    warn_if_busy,
    write_records,
)
from bench.catalog_checkout import CheckoutBench  # noqa: E402
from wxdist.catalog.search import title_terms  # noqa: E402

TARGET_P95_MS = 50.0
TARGET_CHECKOUT_RATIO = 0.5
PER_PAGE = 20
LINES_PER_ORDER = 4
CATEGORIES = 24


# The title vocabulary, one word per space (a tuple of words each).
def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(" "))


BRANDS = _words(
    "小米 美的 苏泊尔 九阳 膳魔师 象印 虎牌 乐扣 富光 双立人 摩飞 北鼎 网易严选 "
    "无印良品 宜家 拉面说 三只松鼠 良品铺子 百草味 得力"
)
ADJECTIVES = _words(
    "加厚 大容量 便携 迷你 家用 商用 简约 复古 北欧 日式 韩版 新款 经典 升级 防摔 "
    "耐高温 保鲜 轻量 静音 智能"
)
MATERIALS = _words(
    "不锈钢 陶瓷 玻璃 硅胶 竹制 木质 纯棉 亚麻 塑料 铝合金 钛合金 珐琅 紫砂 铸铁 羊毛 "
    "真皮 帆布 碳纤维 实木 藤编"
)
ITEMS = _words(
    "保温杯 马克杯 茶壶 饭盒 餐具 炒锅 汤锅 蒸锅 砧板 菜刀 水壶 咖啡杯 酒杯 托盘 收纳盒 "
    "衣架 拖鞋 毛巾 浴巾 枕头 被子 床单 抱枕 台灯 花瓶 相框 闹钟 背包 钱包 雨伞 围巾 "
    "手套 帽子 袜子 牙刷 梳子 镜子 剪刀 笔记本 钢笔"
)
SIZES = _words("350ml 500ml 1L 2L 小号 中号 大号 特大号 单只装 两只装 四件套 六件套")


@dataclass(frozen=True)
class Options:
    products: int
    order_items: int
    seconds: int
    connections: int
    deep_page: int
    gunicorn: Gunicorn
    mysql_url: str
    keep_db: bool
    shoppers: int


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--order-items", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--deep-page", type=int, default=1000)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--shoppers", type=int, default=9000, help="carts for the checkout phase (one each)"
    )
    args = parser.parse_args(argv)
    return Options(
        products=args.products,
        order_items=args.order_items,
        seconds=args.seconds,
        connections=args.connections,
        deep_page=args.deep_page,
        gunicorn=Gunicorn(worker_class=args.worker_class),
        mysql_url=args.mysql_url,
        keep_db=args.keep_db,
        shoppers=args.shoppers,
    )


# --------------------------------------------------------------------------- seeding


def _title(rng: random.Random) -> str:
    return (
        f"{rng.choice(BRANDS)} {rng.choice(ADJECTIVES)}{rng.choice(MATERIALS)}"
        f"{rng.choice(ITEMS)} {rng.choice(SIZES)}"
    )


def _load(conn: pymysql.Connection, workdir: Path, table: str, columns: str, rows) -> int:  # type: ignore[no-untyped-def,type-arg]
    """Rows (tuples of str/int) into `table` by LOAD DATA LOCAL INFILE; returns the count."""
    return load_rows(conn, workdir, table, columns, rows)


def seed(db: Database, opts: Options, workdir: Path) -> dict[str, float]:
    """The catalogue, its terms, the orders and the sales counts; returns seconds per step."""
    rng = random.Random(15)
    conn = infile_connection(db)
    timings: dict[str, float] = {}
    now = datetime(2026, 12, 1)
    try:
        started = time.perf_counter()
        _load(
            conn,
            workdir,
            "categories",
            "id, name, sort, is_active",
            ((i, f"类目{i}", i, 1) for i in range(1, CATEGORIES + 1)),
        )
        titles = [_title(rng) for _ in range(opts.products)]
        prices = [rng.choice((990, 1990, 2990, 3990, 5990, 9990, 19900, 29900)) for _ in titles]
        created = [
            (now - timedelta(seconds=rng.randrange(365 * 86400))).strftime("%Y-%m-%d %H:%M:%S")
            for _ in titles
        ]
        _load(
            conn,
            workdir,
            "products",
            "id, category_id, title, subtitle, description, on_shelf, sort, min_price_fen, "
            "max_price_fen, sales_count, created_at, updated_at",
            (
                (
                    i + 1,
                    rng.randint(1, CATEGORIES),
                    t,
                    "",
                    "",
                    int(rng.random() < 0.95),
                    0,
                    prices[i],
                    prices[i] + 1000,  # the dearer of its two SKUs (below)
                    0,
                    created[i],
                    created[i],
                )
                for i, t in enumerate(titles)
            ),
        )
        _load(
            conn,
            workdir,
            "skus",
            "id, product_id, name, price_fen, stock, sold, is_active",
            (
                (2 * i + k + 1, i + 1, f"规格{k + 1}", prices[i] + 1000 * k, 100, 0, 1)
                for i in range(opts.products)
                for k in range(2)
            ),
        )
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO product_images (product_id, url, sort) "
                "SELECT id, CONCAT('https://img.example/p/', id, '.jpg'), 0 FROM products"
            )
            # what wxdist.catalog.covers keeps from ORM writes; bulk SQL sets it itself
            cur.execute(
                "UPDATE products SET cover_url = CONCAT('https://img.example/p/', id, '.jpg')"
            )
        timings["products, SKUs, pictures"] = time.perf_counter() - started

        started = time.perf_counter()
        terms = _load(
            conn,
            workdir,
            "product_terms",
            "term, product_id",
            ((term, i + 1) for i, t in enumerate(titles) for term in sorted(title_terms(t))),
        )
        timings[f"search terms ({terms} rows)"] = time.perf_counter() - started

        started = time.perf_counter()
        _seed_orders(conn, opts)
        timings[f"orders, {opts.order_items} lines, sales counts"] = time.perf_counter() - started
    finally:
        conn.close()
    return timings


def _loader(db: Database, workdir: Path):  # type: ignore[no-untyped-def]
    """`load(table, columns, rows)`: rows by LOAD DATA LOCAL INFILE on a connection of its own."""

    def load(table: str, columns: str, rows) -> int:  # type: ignore[no-untyped-def]
        conn = infile_connection(db)
        try:
            return _load(conn, workdir, table, columns, rows)
        finally:
            conn.close()

    return load


def _seed_orders(conn: pymysql.Connection, opts: Options) -> None:  # type: ignore[type-arg]
    """Paid orders and their lines, generated in the server; lines go to products skewed
    (u^3: a tenth of the products take about half the units); then the sales counts."""
    orders = -(-opts.order_items // LINES_PER_ORDER)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO users (id, openid, nickname, avatar_url, token_version, paid_orders,"
            " paid_spend_fen, created_at, last_login_at) VALUES"
            " (1, 'bench-openid', '压测', '', 1, 0, 0, NOW(6), NOW(6))"
        )
        cur.execute(
            "INSERT INTO orders (id, order_no, user_id, status, goods_fen, shipping_fen,"
            " discount_fen, payable_fen, paid_fen, refunded_fen, pay_channel, receiver_name,"
            " receiver_phone, receiver_region, receiver_detail, remark, created_at, expires_at,"
            " paid_at) SELECT seq, CONCAT('BENCH', seq), 1, 'completed', 1990, 0, 0, 1990,"
            " 1990, 0, 'wechat', '李四', '13900139000', '上海市 浦东新区', '世纪大道 1 号', '',"
            f" NOW(6), NOW(6), NOW(6) FROM seq_1_to_{orders}"
        )
        cur.execute(
            "INSERT INTO order_items (order_id, product_id, sku_id, title, sku_name, image_url,"
            " price_fen, quantity, amount_fen, paid_fen, commission_base_fen, refunded_fen)"
            " SELECT 1 + (seq - 1) DIV %s, x.pid, 2 * x.pid - 1, '商品', '规格1', '',"
            " 1990, x.q, 1990 * x.q, 1990 * x.q, 1990 * x.q, 0"
            " FROM (SELECT seq, 1 + FLOOR(%s * POW(RAND(7), 3)) AS pid,"
            " 1 + FLOOR(RAND() * 3) AS q"
            f" FROM seq_1_to_{opts.order_items}) x",
            (LINES_PER_ORDER, opts.products),
        )
        cur.execute(
            "UPDATE products p JOIN (SELECT product_id, SUM(quantity) AS units"
            " FROM order_items GROUP BY product_id) s ON s.product_id = p.id"
            " SET p.sales_count = s.units"
        )
        for table in ("products", "skus", "product_terms", "product_images", "order_items"):
            cur.execute(f"ANALYZE TABLE {table}")
            cur.fetchall()


# --------------------------------------------------------------------------- phases


def _get(params: dict[str, object]) -> tuple[str, str, str, bytes]:
    return (f"GET /api/v1/products?{urlencode(params)}", "", "", b"")


def phases(opts: Options) -> list[tuple[str, list[tuple[str, str, str, bytes]]]]:
    """Each phase's name and its GET records (rotated by wrk)."""
    rng = random.Random(16)
    words = [w for w in (*ITEMS, *MATERIALS, *ADJECTIVES) if len(w) >= 2]
    two_chars = sorted({w[:2] for w in words} | {w[-2:] for w in words})
    out = [
        ("search-2char", [_get({"q": q, "per_page": PER_PAGE}) for q in two_chars]),
        (
            "cat+price",
            [
                _get(
                    {
                        "category_id": rng.randint(1, CATEGORIES),
                        "min_price_fen": low,
                        "max_price_fen": low + rng.choice((2000, 5000, 20000)),
                        "sort": "sales",
                        "per_page": PER_PAGE,
                    }
                )
                for low in (rng.choice((0, 990, 1990, 5000)) for _ in range(300))
            ],
        ),
    ]
    for sort in ("sales", "price_asc", "price_desc", "newest"):
        for label, page in (("p1", 1), ("deep", opts.deep_page)):
            out.append(
                (f"{sort}-{label}", [_get({"sort": sort, "page": page, "per_page": PER_PAGE})])
            )
    return out


def _served(result: PhaseResult) -> None:
    result.count_as_ok(lambda outcome: outcome.startswith("200"))


def report(results: list[PhaseResult], ceiling: PhaseResult, checkout: PhaseResult) -> bool:
    header = (
        f"{'phase':<17}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'CPU ms/req: app':>17}{'db':>7}  verdict"
    )
    print("\n" + header + "\n" + "-" * len(header))
    passed = True
    for r in [*results, ceiling]:
        ok = r.errors == 0 and r.p95_ms < TARGET_P95_MS
        mark = "" if r is ceiling else ("PASS" if ok else "FAIL")
        passed = passed and (ok or r is ceiling)
        print(
            f"{r.name:<17}{r.requests:>9}{r.errors:>8}{r.throughput:>9.1f}{r.p50_ms:>9.1f}"
            f"{r.p95_ms:>9.1f}{r.p99_ms:>9.1f}{r.server_ms_per_request:>17.2f}"
            f"{r.db_ms_per_request:>7.2f}  {mark}"
        )
    for r in results:
        if r.first_error:
            print(f"{r.name}: {r.errors} errors, the first: {r.first_error}")
    if checkout.first_error:
        print(f"{checkout.name}: {checkout.errors} errors, the first: {checkout.first_error}")
    worst = max(results, key=lambda r: r.p95_ms)
    print(
        f"\nverdict: {'PASS' if passed else 'FAIL'}: every phase p95 < {TARGET_P95_MS:.0f} ms "
        f"without errors (worst: {worst.name} {worst.p95_ms:.1f} ms; the ceiling's trivial "
        f"transaction: p95 {ceiling.p95_ms:.1f} ms, {ceiling.throughput:.0f} req/s)"
    )
    ratio = checkout.throughput / ceiling.throughput if ceiling.throughput else 0.0
    ok = ratio >= TARGET_CHECKOUT_RATIO and checkout.errors == 0
    print(
        f"verdict: {'PASS' if ok else 'FAIL'}: cart checkout {checkout.throughput:.1f} orders/s "
        f"= {ratio:.2f} x the ceiling's {ceiling.throughput:.1f} req/s (target >= "
        f"{TARGET_CHECKOUT_RATIO}), {checkout.errors} errors; p50 {checkout.p50_ms:.1f} ms, "
        f"p95 {checkout.p95_ms:.1f} ms; CPU ms per order: app "
        f"{checkout.server_ms_per_request:.2f}, db {checkout.db_ms_per_request:.2f}"
    )
    return all(r.errors == 0 for r in [*results, checkout])


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    require_wrk()
    db = Database(opts.mysql_url, f"wxdist_bench_{secrets.token_hex(4)}")
    workdir = Path(tempfile.mkdtemp(prefix="wxdist-bench-"))
    services: list[Service] = []
    mysqld = pids_named("mariadbd", "mysqld")
    begun = time.monotonic()
    print(
        f"wxdist catalogue bench: db {db.name}, {opts.gunicorn.describe()}, "
        f"{opts.connections} connections, {opts.seconds} s per phase, {opts.products} products, "
        f"{opts.order_items} order items, {os.cpu_count()} cores"
    )
    warn_if_busy()
    try:
        db.create()
        port = free_port()
        env = app_env(db, port, f"http://127.0.0.1:{free_port()}")
        env["SECRET_KEY"] = secrets.token_hex(24)  # the checkout phase signs its tokens
        migrate(env)
        for step, seconds in seed(db, opts, workdir).items():
            print(f"seeded {step} in {seconds:.1f} s")
        carts = CheckoutBench(db, env["SECRET_KEY"], opts.shoppers)
        started = time.perf_counter()
        shoppers = carts.seed(_loader(db, workdir))
        print(
            f"seeded {len(shoppers)} shoppers with tokens and {carts.lines_seeded} cart lines "
            f"in {time.perf_counter() - started:.1f} s"
        )
        create_ceiling_tables(db)
        base_url = f"http://127.0.0.1:{port}"
        app = start_service("app", opts.gunicorn.cmd(port, "wsgi:app"), env, workdir)
        services.append(app)
        wait_http(app, f"{base_url}/healthz")
        cpu_groups = {"app": process_tree(app.proc.pid), "mariadb": mysqld}
        results = []
        for name, records in phases(opts):
            path = workdir / f"{name}.tsv"
            write_records(path, records)
            run_wrk(f"{name}-warm", base_url, path, opts.connections, workdir, seconds=2,
                    cpu_groups=cpu_groups)  # fmt: skip
            result = run_wrk(
                name,
                base_url,
                path,
                opts.connections,
                workdir,
                seconds=opts.seconds,
                needle='"items"',
                cpu_groups=cpu_groups,
            )
            _served(result)
            results.append(result)
            print(f"{name}: p95 {result.p95_ms:.1f} ms, {result.ok} ok")
        checkout = carts.run(
            shoppers, base_url, opts.connections, opts.seconds, workdir, cpu_groups
        )
        app.stop()
        ceiling = Ceiling(opts.gunicorn, env, opts.connections, workdir, mysqld)
        ceiling_result = ceiling.run(opts.seconds, 50, services)
        checks: list[Check] = [*carts.check(checkout), ceiling.check(db, ceiling_result)]
        clean = report(results, ceiling_result, checkout)
        print_checks(checks)
        clean = clean and all(check.passed for check in checks)
    finally:
        for service in reversed(services):
            service.stop()
        if opts.keep_db:
            print(f"kept database {db.name}")
        else:
            with suppress(pymysql.MySQLError):
                db.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"whole run {time.monotonic() - begun:.0f} s")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
