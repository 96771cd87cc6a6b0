"""Where a create-order and a pay-notify request spend their time (companion of order_flow).

Run from the repository root (MariaDB at 127.0.0.1:3306, root without password):

    .venv/bin/python bench/profile_flow.py [--requests 500] [--top 25] [--redis-url URL]

On a fresh database `wxdist_bench_prof_<random>` (dropped at the end) it serves the gateway
emulator in a thread, then drives the real app in-process through Flask's test client, one
request at a time (no concurrency, so no lock waits: this is the service time of one
request). For each flow it prints:

- the mean wall time per request (profiler off), split into time inside PyMySQL round trips
  (queries, COMMIT/ROLLBACK, pool pre-ping: network, MariaDB and PyMySQL's packet parsing)
  and the rest, which is Python: Flask, SQLAlchemy, pydantic, the app;
- own time by package under cProfile (a second batch, profiler on);
- the SQL statements of one typical request, in order, and the round trips per request;
- the top functions by cumulative and by own time under cProfile (`--top`).

The test client skips gunicorn and HTTP parsing, so a served request costs a little more.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import math
import pstats
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pymysql  # noqa: E402

from bench._harness import Database, order_body, seed_catalogue  # noqa: E402
from bench.order_flow import (  # noqa: E402
    CHINA_TZ,
    check_redis_unused,
    clean_redis,
    seed_distributors,
)
from config import DEV_WECHAT_PAY_API_KEY, load_settings  # noqa: E402
from payments.emulator.wechat import sign_notify  # noqa: E402


@dataclass
class DbClock:
    """Counts and times every PyMySQL round trip (patched in for the whole run)."""

    calls: int = 0
    seconds: float = 0.0
    log: list[str] | None = None
    kinds: dict[str, int] = field(default_factory=dict)

    def install(self) -> None:
        conn_cls = pymysql.connections.Connection
        for name in ("query", "commit", "rollback", "ping"):
            original = getattr(conn_cls, name)
            setattr(conn_cls, name, self._wrap(name, original))

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        clock = self

        def timed(conn: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(conn, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - started
                clock.calls += 1
                what = name
                if name == "query" and args:
                    sql = args[0] if isinstance(args[0], str) else args[0].decode()
                    what = " ".join(sql.split()[:1]).upper()
                    if clock.log is not None:
                        clock.log.append(" ".join(sql.split())[:160])
                elif clock.log is not None:
                    clock.log.append(name.upper())
                clock.kinds[what] = clock.kinds.get(what, 0) + 1

        return timed


@contextmanager
def fresh_database(server_url: str) -> Iterator[Database]:
    db = Database(server_url, f"wxdist_bench_prof_{secrets.token_hex(4)}")
    db.create()
    try:
        yield db
    finally:
        with suppress(pymysql.MySQLError):
            db.drop()


PACKAGES = (
    ("sqlalchemy", "/sqlalchemy/"),
    ("pymysql", "/pymysql/"),
    ("pydantic", "/pydantic"),
    ("flask", "/flask/"),
    ("werkzeug", "/werkzeug/"),
    ("itsdangerous", "/itsdangerous/"),
    ("xmltodict/expat", "/xmltodict"),
    ("wechatpy", "/wechatpy/"),
    ("app: wxdist", "/wxdist/"),
    ("app: miniprogram_api", "/miniprogram_api/"),
    ("app: payments", "/payments/"),
    ("stdlib", "/lib/python3"),
)


def own_time_by_package(profiler: cProfile.Profile) -> list[tuple[str, float]]:
    stats = pstats.Stats(profiler)
    totals: dict[str, float] = {}
    for (filename, _line, func), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = row[2]
        if filename == "~":
            name = "socket I/O" if "socket" in func else "C builtins"
        else:
            name = next((label for label, part in PACKAGES if part in filename), "other")
        totals[name] = totals.get(name, 0.0) + tottime
    return sorted(totals.items(), key=lambda kv: -kv[1])


def profile(
    name: str, clock: DbClock, run_one: Callable[[int], None], count: int, top: int
) -> None:
    """Request indexes: -2 and -1 warm up, 0..count-1 timed, count..2*count-1 profiled."""
    run_one(-2)  # warm-up (imports, first queries)
    clock.log = []
    run_one(-1)
    statements = clock.log
    clock.log = None

    clock.calls, clock.seconds, clock.kinds = 0, 0.0, {}
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(count):
        run_one(i)
    per = 1000 * (time.perf_counter() - started) / count
    cpu = 1000 * (time.process_time() - cpu_started) / count
    db_ms = 1000 * clock.seconds / count
    print(f"\n=== {name}: {count} requests, one at a time ===")
    print(
        f"per request: {per:.2f} ms wall = {db_ms:.2f} ms in PyMySQL round trips "
        f"({clock.calls / count:.1f} of them: network, MariaDB, packet parsing) "
        f"+ {per - db_ms:.2f} ms other Python"
    )
    print(
        f"CPU of this process: {cpu:.2f} ms/request (all of Python and PyMySQL; steadier than "
        "wall time on a shared machine)"
    )
    kinds = ", ".join(f"{k} {v / count:.1f}" for k, v in sorted(clock.kinds.items()))
    print(f"round trips per request by kind: {kinds}")
    print("statements of one request:")
    for i, sql in enumerate(statements, 1):
        print(f"  {i:>2}. {sql}")

    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(count, 2 * count):
        run_one(i)
    profiler.disable()
    shares = own_time_by_package(profiler)
    total = sum(t for _, t in shares) or 1e-9
    print(f"--- own time by package under cProfile ({1000 * total / count:.1f} ms/request) ---")
    print(
        "  "
        + ", ".join(f"{label} {100 * t / total:.0f}%" for label, t in shares if t / total > 0.005)
    )
    for sort in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(sort).print_stats(top)
        body = out.getvalue()
        start = body.find("   ncalls")
        print(f"--- top {top} by {sort} ---")
        print(body[start:].rstrip())


def profile_offers(
    db: Database, client: Any, headers: dict[str, str], clock: DbClock, count: int, top: int
) -> None:
    """Create-order as bench/marketing.py's order+offers places it: a SKU with a live
    limited-time price and a full reduction, each request with its own coupon (claimed
    ahead through the API, untimed) and the previewed payable."""
    from bench.marketing import (
        COUPON_OFF_FEN,
        COUPON_THRESHOLD_FEN,
        PER_USER_MAX,
        claim_body,
        claim_path,
        seed_promotions,
        seed_templates,
    )

    offer_sku = seed_catalogue(db, title="压测优惠商品")
    seed_promotions(db, offer_sku)
    needed = 2 * count + 2
    templates = seed_templates(
        db,
        "压测券",
        math.ceil(needed / PER_USER_MAX),
        PER_USER_MAX,
        PER_USER_MAX,
        COUPON_OFF_FEN,
        threshold_fen=COUPON_THRESHOLD_FEN,
        stackable=True,
    )
    coupons = []
    for n in range(needed):
        response = client.post(
            claim_path(templates[n // PER_USER_MAX]),
            data=claim_body(f"profile-{n:04d}"),
            headers=headers,
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        coupons.append(response.get_json()["id"])
    preview = client.post(
        "/api/v1/orders/preview",
        json={"items": [{"sku_id": offer_sku, "quantity": 1}], "coupon_id": coupons[0]},
        headers=headers,
    )
    assert preview.status_code == 200, preview.get_data(as_text=True)
    payable = preview.get_json()["payable_fen"]

    def offer_one(i: int) -> None:
        body = order_body(offer_sku, coupon_id=coupons[i + 2], expected_payable_fen=payable)
        response = client.post("/api/v1/orders", data=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)

    profile("create-order with offers", clock, offer_one, count, top)


def profile_cart(db: Database, app: Any, client: Any, clock: DbClock, count: int, top: int) -> None:
    """Cart checkout as bench/catalog_checkout.py places it: each request a shopper of its
    own (token signed as the app signs one) checking out 1-3 selected lines of distinct SKUs
    to the bench's inline Shanghai address."""
    import random

    from bench._harness import signed_tokens
    from bench.catalog_checkout import BODY, PATH

    rng = random.Random(17)
    skus = [seed_catalogue(db, title=f"压测购物车商品{n}", stock=1_000_000) for n in range(5)]
    first = int(db.scalar("SELECT COALESCE(MAX(id), 0) FROM users")) + 1
    user_ids = range(first, first + 2 * count + 2)
    with db.cursor() as cur:
        for user_id in user_ids:
            cur.execute(
                "INSERT INTO users (id, openid, nickname, avatar_url, token_version, paid_orders,"
                " paid_spend_fen, created_at, last_login_at) VALUES"
                " (%s, %s, '购物车', '', 1, 0, 0, NOW(6), NOW(6))",
                (user_id, f"profile-cart-{user_id}"),
            )
            cur.executemany(
                "INSERT INTO cart_lines (user_id, sku_id, quantity, selected, created_at,"
                " updated_at) VALUES (%s, %s, %s, 1, NOW(6), NOW(6))",
                [(user_id, s, rng.randint(1, 2)) for s in rng.sample(skus, rng.randint(1, 3))],
            )
    shoppers = signed_tokens(app.config["SECRET_KEY"], user_ids)

    def checkout_one(i: int) -> None:
        headers = {"Authorization": shoppers[i + 2].auth, "Content-Type": "application/json"}
        response = client.post(PATH, data=BODY, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)

    profile("cart-checkout", clock, checkout_one, count, top)


def profile_drain(app: Any, clock: DbClock, order_ids: list[int], top: int) -> None:
    """What the drain does with the orders the notifies queued: `attribute_many` on batches
    of BATCH (the drain's LPOP size), the first half timed, the second under cProfile."""
    from wxdist.core.redis_conn import redis_client
    from wxdist.distribution.attribution_queue import BATCH, PENDING_KEY
    from wxdist.distribution.commissions import attribute_many

    redis_client(app.config["REDIS_URL"]).delete(PENDING_KEY)  # the ids are known here
    half = len(order_ids) // 2
    with app.app_context():
        clock.log = []
        clock.calls, clock.seconds, clock.kinds = 0, 0.0, {}
        started, cpu_started = time.perf_counter(), time.process_time()
        for start in range(0, half, BATCH):
            outcome = attribute_many(order_ids[start : min(start + BATCH, half)])
            assert not outcome.failed and not outcome.parked, outcome
        per = 1000 * (time.perf_counter() - started) / half
        cpu = 1000 * (time.process_time() - cpu_started) / half
        db_ms = 1000 * clock.seconds / half
        statements, clock.log = clock.log, None
        print(f"\n=== drain: {half} orders, batches of {BATCH}, one drain ===")
        print(
            f"per order: {per:.2f} ms wall = {db_ms:.2f} ms in PyMySQL round trips "
            f"({clock.calls / half:.2f} of them) + {per - db_ms:.2f} ms other Python; "
            f"CPU of this process {cpu:.2f} ms/order"
        )
        print("statements of one batch:")
        first_commit = statements.index("COMMIT") if "COMMIT" in statements else len(statements)
        for i, sql in enumerate(statements[: first_commit + 1], 1):
            print(f"  {i:>2}. {sql}")
        profiler = cProfile.Profile()
        profiler.enable()
        for start in range(half, len(order_ids), BATCH):
            attribute_many(order_ids[start : start + BATCH])
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
        body = out.getvalue()
        print(f"--- top {top} by cumulative ---")
        print(body[body.find("   ncalls") :].rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--offers",
        action="store_true",
        help="also profile create-order of a SKU with a limited-time discount, a full "
        "reduction and a coupon (bench/marketing.py's order+offers), after plain create-order",
    )
    parser.add_argument(
        "--cart",
        action="store_true",
        help="also profile cart checkout (bench/catalog_checkout.py's request), after "
        "plain create-order",
    )
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument(
        "--redis-url",
        default="",
        help="queue the commission job on RQ there (an empty database, e.g. "
        "redis://127.0.0.1:6379/15; its rq:* keys are deleted at the end) instead of running "
        "it inline in the notify request, as order_flow.py --redis-url does",
    )
    args = parser.parse_args(argv)
    if args.redis_url:
        check_redis_unused(args.redis_url)

    from flask_migrate import upgrade

    from payments.emulator import EmulatorServer, EmulatorSettings
    from wxdist import create_app

    clock = DbClock()
    clock.install()
    with fresh_database(args.mysql_url.rstrip("/")) as db:
        settings = load_settings({"DATABASE_URL": db.url})
        emulator = EmulatorServer(EmulatorSettings.from_config(settings, port=0)).start()
        try:
            app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": db.url,
                    "SQLALCHEMY_ENGINE_OPTIONS": settings["SQLALCHEMY_ENGINE_OPTIONS"],
                    "EMULATOR_URL": emulator.url,
                    "REDIS_URL": args.redis_url or None,
                    "INLINE_JOBS": not args.redis_url,
                }
            )
            with app.app_context():
                upgrade()
            # Alembic's env.py configured logging: quiet the emulator's access log again.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            sku_id = seed_catalogue(db)
            client = app.test_client()
            (scene,) = seed_distributors(db, 1)  # the shopper's orders earn two levels
            login = client.post(
                "/api/v1/auth/login", json={"code": "profile-shopper", "scene": scene}
            )
            token = login.get_json()["token"]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            body = order_body(sku_id)
            order_ids: list[int] = []

            retries = 0

            def create_one(_: int) -> None:  # also makes the orders the notifies pay
                nonlocal retries
                response = client.post("/api/v1/orders", data=body, headers=headers)
                while response.status_code == 409 and b'"retry"' in response.get_data():
                    retries += 1  # an order_no collision (see order_flow's report)
                    response = client.post("/api/v1/orders", data=body, headers=headers)
                assert response.status_code == 201, response.get_data(as_text=True)
                order_ids.append(response.get_json()["id"])

            profile("create-order", clock, create_one, args.requests, args.top)
            if retries:
                print(f"({retries} create requests answered 409 retry: order_no collisions)")
            if args.offers:
                profile_offers(db, client, headers, clock, args.requests, args.top)
            if args.cart:
                profile_cart(db, app, client, clock, args.requests, args.top)

            notifies: list[bytes] = []
            openid = db.scalar("SELECT openid FROM users LIMIT 1")
            time_end = datetime.now(CHINA_TZ).strftime("%Y%m%d%H%M%S")
            for n, order_id in enumerate(order_ids):
                response = client.post(
                    f"/api/v1/orders/{order_id}/pay", json={"channel": "wechat"}, headers=headers
                )
                assert response.status_code == 200, response.get_data(as_text=True)
                fen = db.scalar("SELECT payable_fen FROM orders WHERE id = %s", (order_id,))
                notifies.append(
                    sign_notify(
                        {
                            "return_code": "SUCCESS",
                            "appid": settings["WECHAT_APPID"],
                            "mch_id": settings["WECHAT_MCH_ID"],
                            "nonce_str": secrets.token_hex(16),
                            "result_code": "SUCCESS",
                            "openid": openid,
                            "trade_type": "JSAPI",
                            "bank_type": "OTHERS",
                            "total_fee": fen,
                            "cash_fee": fen,
                            "fee_type": "CNY",
                            "transaction_id": f"4200000000{n:018d}",
                            "out_trade_no": response.get_json()["out_trade_no"],
                            "time_end": time_end,
                        },
                        DEV_WECHAT_PAY_API_KEY,
                    )
                )

            def notify_one(i: int) -> None:
                response = client.post(
                    "/notify/wechat/pay",
                    data=notifies[i + 2],  # i starts at -2
                    headers={"Content-Type": "text/xml"},
                )
                assert b"SUCCESS" in response.get_data(), response.get_data(as_text=True)

            profile("pay-notify", clock, notify_one, args.requests, args.top)
            if args.redis_url:
                profile_drain(app, clock, order_ids, args.top)
            with app.app_context():
                from wxdist.core.extensions import db as sa

                sa.engine.dispose()
        finally:
            emulator.stop()
            if args.redis_url:
                clean_redis(args.redis_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
