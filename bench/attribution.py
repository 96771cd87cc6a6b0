"""Attribution and team-page benchmark on a referral forest of 1,000 and 1,000,000 users.

Run (from the repository root; needs MariaDB at 127.0.0.1:3306 as root without password):

    .venv/bin/python bench/attribution.py [--large 1000000] [--small 1000] [--orders 300]
                                          [--team-size 100000] [--team-calls 50]
                                          [--loader auto|infile|insert] [--no-what-if]
                                          [--keep-db]

Not part of the test run. `--large 0` skips the large scenario (the team-page part then runs
in the small database). The default run takes 3 to 5 minutes (about a minute of it loading
the million-user forest). Exit status 1 if a commission check or reconcile finds a problem.

What it does, on one fresh database per scenario, `wxdist_attr_<small|large>_<random>`,
dropped at the end (`--keep-db` keeps them):

1. Setup, per scenario: the Alembic migrations (`flask_migrate.upgrade()` in an app
   context), then a referral forest bulk-loaded with LOAD DATA LOCAL INFILE (big multi-row
   INSERTs if the server or driver refuses it; `--loader` forces one), FK and unique checks
   off for the load: half the users in wide random trees (each user's referrer is a random
   earlier user: depth up to ~20), the other half in up to 20 deep trees whose first 51 users
   form a chain down to depth 50 and whose other users hang under recent ones (depth capped
   at 50). Every user with a member is an approved distributor with an account. Referral
   rows carry parent_id, grandparent_id, the materialised path and depth exactly as
   `wxdist.distribution.referrals.bind` writes them; roots have no referral row, as in the app. The
   settings row (id 1, defaults: depth 2, 10 % / 5 %) and one product with one SKU are
   written through the ORM. Load times are printed per table, then ANALYZE TABLE runs.
   Then `--orders` paid orders plus 20 warm-up ones are inserted with SQL (order, one item,
   one paid WeChat payment, attributed_at NULL) for distinct random buyers at depth >= 2,
   half of them drawn from depth >= 40.
2. Attribution: `distribution.commissions.attribute_order(order_id)` once per order, each call in
   a fresh app context as an RQ job runs it, timed with perf_counter; the warm-up calls are
   not counted. Calls are interleaved across the two databases (order i of small, order i
   of large, then the other way round for i + 1) so that load from other processes on the
   machine falls on both alike. For each scenario it prints median / p90 / p99 / mean, the
   statements per call and where the time went (inside cursor.execute, in COMMIT, in the
   pool's pre-ping, and the rest: Python, ORM, driver), then the median of every statement
   of the call, small next to large, which shows which statement (if any) grows with size.
   Checks: each order has exactly a level-1 record for the buyer's parent and a level-2
   record for the grandparent with the expected amounts, one ledger entry each, and the
   snapshot on the order; then every check of `wxdist.reporting.reconcile` (each timed; the full set
   runs at one million too).
3. Team page, in the large database (the small one with `--large 0`): a distributor D gets
   `--team-size` new direct members (distinct bound_at), 300 of them one completed order
   with settled commission for D (level 1) and for D's referrer G (level 2). Timed, each
   call in a fresh app context as a request, median of `--team-calls` after 5 warm-up calls:
   `team_page(D, depth=1, page=1, per_page=20)`, the same at page 100, `team_page(G,
   depth=2, page=1)` (G's depth-2 team is D's members), and, as an extra, `overview(D)`,
   which counts the team too. Each case prints the median time of each statement it sent,
   and the EXPLAIN of them all when it misses 50 ms. If one missed (and not
   `--no-what-if`), the suggested index (WHAT_IF_DDL below) is built in the bench database
   only and every case is timed again, plus overview's team count written as two COUNTs.

Reading the output: the summary at the end has the load times per table, the attribution
figures per scenario with the large/small ratio of the medians (target: at most 1.2x), and
the team-page figures as migrated and with the what-if index (target: median under 50 ms),
each with PASS or MISS. Times are wall-clock in this process against a server on loopback,
pre-ping included as in the app; the server's buffer pool size is printed first, since it
decides how much of the million-user tables stays in memory.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `config` and `wxdist` importable
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import event  # noqa: E402

from config import load_settings  # noqa: E402
from wxdist.core.money import apply_rate  # noqa: E402
from wxdist.models.types import utcnow  # noqa: E402

MAX_DEPTH = 50
DEEP_TREES_MAX = 20
PRICE_FEN = 1990
WARMUP_ORDERS = 20
TEAM_WARMUP_CALLS = 5
TEAM_COMMISSION_BUYERS = 300
ATTRIBUTION_TARGET_RATIO = 1.2
TEAM_TARGET_MS = 50.0
INSERT_CHUNK = 5000
# The index change suggested for team_page, tried on the bench database when a case misses:
# the page query keeps its index order (bound_at, user_id) and the expiry filter and the
# COUNT are answered from the index, without a row lookup per member.
WHAT_IF_DDL = (
    "ALTER TABLE referrals "
    "DROP INDEX ix_referrals_parent_bound, "
    "ADD INDEX ix_referrals_parent_bound (parent_id, bound_at, user_id, expires_at), "
    "DROP INDEX ix_referrals_grandparent_bound, "
    "ADD INDEX ix_referrals_grandparent_bound (grandparent_id, bound_at, user_id, expires_at)"
)
# overview()'s team size without the OR that forces a full scan: the two sets are disjoint
# (a member whose parent and grandparent were both D would need D to refer D).
SPLIT_TEAM_COUNT = (
    "SELECT (SELECT COUNT(*) FROM referrals WHERE parent_id = :u)"
    " + (SELECT COUNT(*) FROM referrals WHERE grandparent_id = :u)"
)


# ---- options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    large: int
    small: int
    orders: int
    team_size: int
    team_calls: int
    loader: str
    keep_db: bool
    what_if: bool
    seed: int
    host: str
    port: int
    user: str
    password: str


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--large", type=int, default=1_000_000, help="users, large (0: skip)")
    parser.add_argument("--small", type=int, default=1_000, help="users, small scenario")
    parser.add_argument("--orders", type=int, default=300, help="timed orders per scenario")
    parser.add_argument("--team-size", type=int, default=100_000, help="D's direct members")
    parser.add_argument("--team-calls", type=int, default=50, help="timed team_page calls")
    parser.add_argument("--loader", choices=("auto", "infile", "insert"), default="auto")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the databases")
    parser.add_argument(
        "--no-what-if",
        dest="what_if",
        action="store_false",
        help="do not try the suggested index when a team-page case misses its target",
    )
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="")
    ns = parser.parse_args(argv)
    if ns.small < 200 or (ns.large and ns.large < ns.small):
        parser.error("--small must be at least 200 and --large 0 or at least --small")
    if ns.orders < 10:
        parser.error("--orders must be at least 10")
    return Options(
        large=ns.large,
        small=ns.small,
        orders=ns.orders,
        team_size=ns.team_size,
        team_calls=ns.team_calls,
        loader=ns.loader,
        keep_db=ns.keep_db,
        what_if=ns.what_if,
        seed=ns.seed,
        host=ns.host,
        port=ns.port,
        user=ns.user,
        password=ns.password,
    )


# ---- the forest ---------------------------------------------------------------------------


@dataclass
class Forest:
    """Users 1..n; index 0 is unused. parent 0 means a root (no referral row)."""

    n: int
    parent: list[int]
    depth: list[int]
    path: list[str]
    children: list[int]
    grandchildren: list[int]
    base_time: datetime

    def grandparent(self, user_id: int) -> int:
        return self.parent[self.parent[user_id]]

    def bound_at(self, user_id: int) -> datetime:
        return self.base_time + timedelta(seconds=user_id)

    def add_member(self, user_id: int, parent_id: int) -> None:
        """Append user `user_id` (must be n + 1) under `parent_id`."""
        assert user_id == self.n + 1
        self.n = user_id
        self.parent.append(parent_id)
        self.depth.append(self.depth[parent_id] + 1)
        self.path.append(f"{self.path[parent_id]}{parent_id}/")
        self.children.append(0)
        self.grandchildren.append(0)
        self.children[parent_id] += 1
        if self.parent[parent_id]:
            self.grandchildren[self.parent[parent_id]] += 1


def build_forest(n: int, rnd: random.Random) -> Forest:
    """Half wide random trees, half deep trees (a 51-long spine, depth capped at 50)."""
    parent = [0] * (n + 1)
    depth = [0] * (n + 1)
    wide = n - n // 2
    wide_roots = max(1, wide // 500)
    for i in range(wide_roots + 1, wide + 1):
        p = rnd.randint(1, i - 1)
        parent[i] = p
        depth[i] = depth[p] + 1
    deep = n - wide
    trees = max(1, min(DEEP_TREES_MAX, deep // 2000))
    size = deep // trees
    for t in range(trees):
        base = wide + 1 + t * size
        tree_size = size if t < trees - 1 else n - base + 1
        for k in range(1, tree_size):
            i = base + k
            if k <= MAX_DEPTH:
                p = i - 1  # the spine: root at depth 0 down to depth 50
            else:
                p = base + k - 1 - int(k * rnd.random() ** 2)  # mostly recent, deep users
                if depth[p] >= MAX_DEPTH:
                    p = parent[p]
            parent[i] = p
            depth[i] = depth[p] + 1
    path = ["/"] * (n + 1)
    children = [0] * (n + 1)
    grandchildren = [0] * (n + 1)
    for i in range(1, n + 1):  # parents always precede their members
        p = parent[i]
        if p:
            path[i] = f"{path[p]}{p}/"
            children[p] += 1
            if parent[p]:
                grandchildren[parent[p]] += 1
    base_time = (utcnow() - timedelta(days=400)).replace(microsecond=0)
    return Forest(n, parent, depth, path, children, grandchildren, base_time)


# ---- database plumbing --------------------------------------------------------------------


def fmt_dt(value: datetime) -> str:
    return value.isoformat(sep=" ", timespec="microseconds")


@dataclass
class Database:
    options: Options
    name: str
    loader: str  # infile | insert (auto resolves on first load)

    def url(self) -> str:
        auth = self.options.user + (f":{self.options.password}" if self.options.password else "")
        return (
            f"mysql+pymysql://{auth}@{self.options.host}:{self.options.port}/{self.name}"
            "?charset=utf8mb4"
        )

    def connect(self, use_db: bool = True) -> pymysql.connections.Connection:  # type: ignore[type-arg]
        return pymysql.connect(
            host=self.options.host,
            port=self.options.port,
            user=self.options.user,
            password=self.options.password,
            database=self.name if use_db else None,
            charset="utf8mb4",
            local_infile=True,
            autocommit=False,
        )

    def create(self) -> None:
        conn = self.connect(use_db=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()

    def drop(self) -> None:
        conn = self.connect(use_db=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
        finally:
            conn.close()

    @contextmanager
    def bulk(self) -> Iterator[pymysql.connections.Connection]:  # type: ignore[type-arg]
        """A connection for loading: no FK or unique checks (rows are consistent by
        construction), committed at the end."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def load(
        self,
        conn: pymysql.connections.Connection,  # type: ignore[type-arg]
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> tuple[int, float]:
        """Load rows into `table`; returns (rows, seconds)."""
        started = time.perf_counter()
        if self.loader in ("auto", "infile"):
            materialised = list(rows)
            try:
                count = self._load_infile(conn, table, columns, materialised)
                self.loader = "infile"
                return count, time.perf_counter() - started
            except pymysql.err.MySQLError as exc:
                if self.loader == "infile":
                    raise
                print(f"  LOAD DATA LOCAL INFILE refused ({exc}); using multi-row INSERTs")
                conn.rollback()
                self.loader = "insert"
                rows = materialised
        count = self._load_insert(conn, table, columns, rows)
        return count, time.perf_counter() - started

    @staticmethod
    def _load_infile(
        conn: pymysql.connections.Connection,  # type: ignore[type-arg]
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> int:
        def cell(value: Any) -> str:
            if value is None:
                return "\\N"
            if isinstance(value, datetime):
                return fmt_dt(value)
            if isinstance(value, bool):
                return "1" if value else "0"
            return str(value)

        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", suffix=".tsv", prefix=f"attr_{table}_", delete=False
        ) as handle:
            for row in rows:
                handle.write("\t".join(cell(v) for v in row))
                handle.write("\n")
            name = handle.name
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 "
                    "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                    f"({', '.join(columns)})",
                    (name,),
                )
                loaded = cur.rowcount
                cur.execute("SHOW WARNINGS LIMIT 3")
                warnings = cur.fetchall()
        finally:
            os.unlink(name)
        if warnings:
            raise RuntimeError(f"LOAD DATA into {table} warned: {warnings}")
        if loaded != len(rows):
            raise RuntimeError(f"LOAD DATA into {table}: {loaded} of {len(rows)} rows")
        return loaded

    @staticmethod
    def _load_insert(
        conn: pymysql.connections.Connection,  # type: ignore[type-arg]
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> int:
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO `{table}` ({', '.join(columns)}) VALUES ({placeholders})"
        count = 0
        chunk: list[Sequence[Any]] = []
        with conn.cursor() as cur:
            for row in rows:
                chunk.append(row)
                if len(chunk) >= INSERT_CHUNK:
                    cur.executemany(sql, chunk)  # pymysql sends one multi-row INSERT
                    count += len(chunk)
                    chunk = []
            if chunk:
                cur.executemany(sql, chunk)
                count += len(chunk)
        return count

    def query(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()


def server_variable(options: Options, name: str) -> str:
    db = Database(options, "", "insert")
    conn = db.connect(use_db=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL VARIABLES LIKE %s", (name,))
            row = cur.fetchone()
            return str(row[1]) if row else "?"
    finally:
        conn.close()


# ---- statement log ------------------------------------------------------------------------


@dataclass
class Statement:
    sql: str
    params: Any
    seconds: float


@dataclass
class StatementLog:
    """While recording: every statement the app's engine sends (with its time), and the
    time spent in COMMIT and in the pool's pre-ping."""

    recording: bool = False
    entries: list[Statement] = field(default_factory=list)
    commit_s: float = 0.0
    ping_s: float = 0.0

    def attach(self, engine: Any) -> None:
        def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
            conn.info["bench_t0"] = time.perf_counter()

        def after(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
            started = conn.info.pop("bench_t0", None)
            if self.recording and started is not None:
                self.entries.append(Statement(sql, params, time.perf_counter() - started))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        dialect = engine.dialect
        original_commit = dialect.do_commit
        original_ping = dialect.do_ping

        def do_commit(dbapi_connection: Any) -> None:
            started = time.perf_counter()
            try:
                original_commit(dbapi_connection)
            finally:
                if self.recording:
                    self.commit_s += time.perf_counter() - started

        def do_ping(dbapi_connection: Any) -> bool:
            started = time.perf_counter()
            try:
                return bool(original_ping(dbapi_connection))
            finally:
                if self.recording:
                    self.ping_s += time.perf_counter() - started

        dialect.do_commit = do_commit
        dialect.do_ping = do_ping

    @contextmanager
    def record(self) -> Iterator[list[Statement]]:
        self.entries = []
        self.commit_s = self.ping_s = 0.0
        self.recording = True
        try:
            yield self.entries
        finally:
            self.recording = False


# ---- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    count: int
    median: float
    p90: float
    p99: float
    mean: float

    @staticmethod
    def of(samples_ms: Sequence[float]) -> Figures:
        ordered = sorted(samples_ms)

        def pct(q: float) -> float:  # nearest rank
            index = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
            return ordered[index]

        return Figures(
            len(ordered), statistics.median(ordered), pct(0.90), pct(0.99), statistics.mean(ordered)
        )

    def line(self) -> str:
        return (
            f"median {self.median:7.2f}  p90 {self.p90:7.2f}  p99 {self.p99:7.2f}  "
            f"mean {self.mean:7.2f} ms  (n={self.count})"
        )


@dataclass
class LoadReport:
    tables: list[tuple[str, int, float]] = field(default_factory=list)
    migrate_s: float = 0.0
    analyze_s: float = 0.0
    generate_s: float = 0.0
    size_mb: float = 0.0


@dataclass
class TeamCase:
    label: str
    total: int
    figures: Figures
    statement_ms: list[tuple[str, float]]
    explain: list[str] = field(default_factory=list)


@dataclass
class AttributionCost:
    """Timed attribute_order calls of one scenario, and where their time went."""

    samples_ms: list[float] = field(default_factory=list)
    statements: int = 0
    statement_s: float = 0.0
    commit_s: float = 0.0
    ping_s: float = 0.0
    per_statement_ms: list[list[float]] = field(default_factory=list)
    statement_sql: list[str] = field(default_factory=list)

    def add(self, elapsed_s: float, log: StatementLog) -> None:
        self.samples_ms.append(elapsed_s * 1000)
        self.statements += len(log.entries)
        self.statement_s += sum(entry.seconds for entry in log.entries)
        self.commit_s += log.commit_s
        self.ping_s += log.ping_s
        for position, entry in enumerate(log.entries):
            if position == len(self.per_statement_ms):
                self.per_statement_ms.append([])
                self.statement_sql.append(entry.sql)
            self.per_statement_ms[position].append(entry.seconds * 1000)

    def per_call_ms(self) -> tuple[float, float, float, float, float]:
        """(statements, in statements, in COMMIT, in pre-ping, the rest) per call, in ms."""
        n = len(self.samples_ms)
        total = sum(self.samples_ms) / n
        stmt, commit, ping = (1000 * s / n for s in (self.statement_s, self.commit_s, self.ping_s))
        return self.statements / n, stmt, commit, ping, total - stmt - commit - ping


# ---- scenario -----------------------------------------------------------------------------


def make_app(database: Database) -> Flask:
    from wxdist import create_app

    settings = load_settings({"DATABASE_URL": database.url()})
    return create_app(
        {
            "WXDIST_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": database.url(),
            "SQLALCHEMY_ENGINE_OPTIONS": settings["SQLALCHEMY_ENGINE_OPTIONS"],
            "REDIS_URL": None,
            "INLINE_JOBS": True,
        }
    )


def migrate(app: Flask) -> float:
    import logging

    from flask_migrate import upgrade

    started = time.perf_counter()
    with app.app_context():
        upgrade()
    logging.disable(logging.INFO)  # alembic's fileConfig turned INFO logging on
    return time.perf_counter() - started


def seed_catalogue(app: Flask) -> tuple[int, int]:
    """The settings row (defaults), one product with one SKU: (product id, sku id)."""
    from wxdist.core.extensions import db
    from wxdist.models import DistributionSettings, Product, Sku

    with app.app_context():
        db.session.add(DistributionSettings(id=1))
        product = Product(title="基准商品", on_shelf=True)
        product.skus.append(Sku(name="默认", price_fen=PRICE_FEN, stock=10**9))
        db.session.add(product)
        db.session.commit()
        return product.id, product.skus[0].id


def user_rows(forest: Forest, first: int, last: int) -> Iterator[tuple[Any, ...]]:
    for i in range(first, last + 1):
        at = forest.bound_at(i)
        yield (i, f"oBench{i:010d}", f"用户{i}", "", 1, at, at, 0, 0)


USER_COLUMNS = (
    "id",
    "openid",
    "nickname",
    "avatar_url",
    "token_version",
    "created_at",
    "last_login_at",
    "paid_orders",
    "paid_spend_fen",
)
REFERRAL_COLUMNS = ("user_id", "parent_id", "grandparent_id", "path", "depth", "bound_at")


def referral_rows(forest: Forest, first: int, last: int) -> Iterator[tuple[Any, ...]]:
    for i in range(first, last + 1):
        p = forest.parent[i]
        if p:
            gp = forest.parent[p] or None
            yield (i, p, gp, forest.path[i], forest.depth[i], forest.bound_at(i))


def load_forest(database: Database, forest: Forest, report: LoadReport) -> None:
    distributors = [i for i in range(1, forest.n + 1) if forest.children[i]]
    approved_at = forest.base_time
    with database.bulk() as conn:
        steps: list[tuple[str, Sequence[str], Iterable[Sequence[Any]]]] = [
            ("users", USER_COLUMNS, user_rows(forest, 1, forest.n)),
            ("referrals", REFERRAL_COLUMNS, referral_rows(forest, 1, forest.n)),
            (
                "distributors",
                (
                    "user_id",
                    "status",
                    "real_name",
                    "phone",
                    "reason",
                    "review_note",
                    "applied_at",
                    "reviewed_at",
                    "approved_at",
                    "direct_invites",
                    "team_sales_fen",
                ),
                (
                    (
                        i,
                        "approved",
                        f"分销{i}",
                        f"138{i:08d}"[-11:],
                        "",
                        "",
                        approved_at,
                        approved_at,
                        approved_at,
                        forest.children[i],
                        0,
                    )
                    for i in distributors
                ),
            ),
            (
                "distributor_accounts",
                (
                    "user_id",
                    "frozen_fen",
                    "available_fen",
                    "withdrawing_fen",
                    "lifetime_earned_fen",
                    "updated_at",
                ),
                ((i, 0, 0, 0, 0, approved_at) for i in distributors),
            ),
        ]
        for table, columns, rows in steps:
            count, seconds = database.load(conn, table, columns, rows)
            conn.commit()
            report.tables.append((table, count, seconds))
            rate = count / seconds if seconds else 0.0
            print(
                f"  loaded {table:<22} {count:>9,} rows in {seconds:6.1f} s "
                f"({rate:,.0f} rows/s, {database.loader})"
            )
    started = time.perf_counter()
    database.query("ANALYZE TABLE users, referrals, distributors, distributor_accounts")
    report.analyze_s = time.perf_counter() - started
    rows = database.query(
        "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
        "WHERE table_schema = %s",
        (database.name,),
    )
    report.size_mb = float(rows[0][0]) / 2**20
    print(
        f"  ANALYZE TABLE {report.analyze_s:.1f} s; database size {report.size_mb:,.0f} MB "
        f"(data + indexes)"
    )


def pick_buyers(forest: Forest, count: int, rnd: random.Random) -> list[int]:
    """Distinct buyers at depth >= 2: half uniformly, half from depth >= 40."""
    eligible = [i for i in range(1, forest.n + 1) if forest.depth[i] >= 2]
    deep = [i for i in eligible if forest.depth[i] >= 40]
    chosen = rnd.sample(deep, min(len(deep), count // 2))
    taken = set(chosen)
    rest = [i for i in eligible if i not in taken]
    chosen += rnd.sample(rest, count - len(chosen))
    rnd.shuffle(chosen)
    return chosen


def insert_paid_orders(
    database: Database,
    buyers: Sequence[int],
    first_order_id: int,
    product_id: int,
    sku_id: int,
    tag: str,
    status: str = "paid",
) -> list[int]:
    """One paid order per buyer (one item of PRICE_FEN, one paid payment); returns ids."""
    now = utcnow()
    ids = list(range(first_order_id, first_order_id + len(buyers)))
    orders = [
        (
            oid,
            f"{tag}{oid:012d}",
            buyer,
            status,
            PRICE_FEN,
            0,
            0,
            PRICE_FEN,
            PRICE_FEN,
            0,
            "wechat",
            "张三",
            "13800000000",
            "上海市 上海市 浦东新区",
            "世纪大道 1 号",
            "",
            now - timedelta(minutes=5),
            now + timedelta(minutes=25),
            now - timedelta(minutes=4),
            now if status == "completed" else None,
        )
        for oid, buyer in zip(ids, buyers, strict=True)
    ]
    items = [
        (
            oid,
            oid,
            product_id,
            sku_id,
            "基准商品",
            "默认",
            "",
            PRICE_FEN,
            1,
            PRICE_FEN,
            PRICE_FEN,
            PRICE_FEN,
            0,
        )
        for oid in ids
    ]
    payments = [
        (
            oid,
            oid,
            "wechat",
            f"{tag}{oid:012d}",
            PRICE_FEN,
            "paid",
            f"42000{tag}{oid:012d}",
            now - timedelta(minutes=5),
            now - timedelta(minutes=4),
            0,
        )
        for oid in ids
    ]
    with database.bulk() as conn:
        database.load(
            conn,
            "orders",
            (
                "id",
                "order_no",
                "user_id",
                "status",
                "goods_fen",
                "shipping_fen",
                "discount_fen",
                "payable_fen",
                "paid_fen",
                "refunded_fen",
                "pay_channel",
                "receiver_name",
                "receiver_phone",
                "receiver_region",
                "receiver_detail",
                "remark",
                "created_at",
                "expires_at",
                "paid_at",
                "completed_at",
            ),
            orders,
        )
        database.load(
            conn,
            "order_items",
            (
                "id",
                "order_id",
                "product_id",
                "sku_id",
                "title",
                "sku_name",
                "image_url",
                "price_fen",
                "quantity",
                "amount_fen",
                "paid_fen",
                "commission_base_fen",
                "refunded_fen",
            ),
            items,
        )
        database.load(
            conn,
            "payments",
            (
                "id",
                "order_id",
                "channel",
                "out_trade_no",
                "amount_fen",
                "status",
                "transaction_id",
                "created_at",
                "paid_at",
                "refunded_fen",
            ),
            payments,
        )
    return ids


def verify_attribution(
    database: Database, forest: Forest, order_ids: Sequence[int], buyers: Sequence[int]
) -> list[str]:
    problems: list[str] = []
    first, last = order_ids[0], order_ids[-1]
    commissions: dict[int, list[tuple[int, int, int, int]]] = {}
    for order_id, beneficiary, level, amount, buyer in database.query(
        "SELECT order_id, beneficiary_id, level, amount_fen, buyer_id FROM commissions "
        "WHERE order_id BETWEEN %s AND %s",
        (first, last),
    ):
        commissions.setdefault(int(order_id), []).append(
            (int(level), int(beneficiary), int(amount), int(buyer))
        )
    snapshots = {
        int(oid): (l1, l2, at)
        for oid, l1, l2, at in database.query(
            "SELECT id, referrer_l1_id, referrer_l2_id, attributed_at FROM orders "
            "WHERE id BETWEEN %s AND %s",
            (first, last),
        )
    }
    entries = {
        int(cid): int(n)
        for cid, n in database.query(
            "SELECT c.id, COUNT(l.id) FROM commissions c LEFT JOIN ledger_entries l "
            "ON l.commission_id = c.id AND l.kind = 'commission' "
            "WHERE c.order_id BETWEEN %s AND %s GROUP BY c.id",
            (first, last),
        )
    }
    l1_fen, l2_fen = apply_rate(PRICE_FEN, 1000), apply_rate(PRICE_FEN, 500)
    for order_id, buyer in zip(order_ids, buyers, strict=True):
        parent, grandparent = forest.parent[buyer], forest.grandparent(buyer)
        expected = sorted([(1, parent, l1_fen, buyer), (2, grandparent, l2_fen, buyer)])
        got = sorted(commissions.get(order_id, []))
        if got != expected:
            problems.append(f"order {order_id}: commissions {got} != expected {expected}")
        l1, l2, attributed_at = snapshots[order_id]
        if (l1, l2) != (parent, grandparent) or attributed_at is None:
            problems.append(f"order {order_id}: snapshot {l1}/{l2}/{attributed_at}")
    bad_entries = [cid for cid, n in entries.items() if n != 1]
    if bad_entries:
        problems.append(f"{len(bad_entries)} commission(s) without exactly one ledger entry")
    return problems


def run_reconcile(app: Flask) -> list[tuple[str, int, float, list[str]]]:
    from wxdist.reporting import reconcile

    results: list[tuple[str, int, float, list[str]]] = []
    checks: list[tuple[str, Callable[[], list[str]]]] = [
        ("check_balances", reconcile.check_balances),
        ("check_frozen_matches_commissions", reconcile.check_frozen_matches_commissions),
        ("check_commission_within_paid", reconcile.check_commission_within_paid),
        ("check_referral_graph", reconcile.check_referral_graph),
    ]
    with app.app_context():
        for name, check in checks:
            started = time.perf_counter()
            found = check()
            results.append((name, len(found), time.perf_counter() - started, found[:5]))
    return results


# ---- team page ----------------------------------------------------------------------------


def choose_team_owner(forest: Forest) -> tuple[int, int]:
    """D: a distributor in the wide half with a referrer G who is one too."""
    wide = forest.n - forest.n // 2
    for i in range(wide, 0, -1):
        if forest.children[i] and forest.parent[i] and forest.depth[i] >= 2:
            return i, forest.parent[i]
    raise RuntimeError("no distributor with a referrer in the wide half")


def grow_team(
    database: Database,
    forest: Forest,
    owner: int,
    size: int,
    product_id: int,
    sku_id: int,
    first_order_id: int,
) -> tuple[int, int]:
    """Give `owner` `size` new direct members and some commission from a few hundred of
    them. Returns (members added, commission rows added)."""
    first = forest.n + 1
    for user_id in range(first, first + size):
        forest.add_member(user_id, owner)
    last = forest.n
    started = time.perf_counter()
    with database.bulk() as conn:
        database.load(conn, "users", USER_COLUMNS, user_rows(forest, first, last))
        database.load(conn, "referrals", REFERRAL_COLUMNS, referral_rows(forest, first, last))
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE distributors SET direct_invites = direct_invites + %s WHERE user_id = %s",
                (size, owner),
            )
    print(f"  added {size:,} direct members to D={owner} in {time.perf_counter() - started:.1f} s")
    rnd = random.Random(owner)
    buyers = sorted(rnd.sample(range(first, last + 1), min(TEAM_COMMISSION_BUYERS, size)))
    ids = insert_paid_orders(
        database, buyers, first_order_id, product_id, sku_id, "T", status="completed"
    )
    grandparent = forest.parent[owner]
    now = utcnow()
    rows: list[tuple[Any, ...]] = []
    for oid, buyer in zip(ids, buyers, strict=True):
        for level, beneficiary, rate in ((1, owner, 1000), (2, grandparent, 500)):
            amount = apply_rate(PRICE_FEN, rate)
            rows.append(
                (
                    oid,
                    oid,
                    buyer,
                    beneficiary,
                    level,
                    PRICE_FEN,
                    rate,
                    "default",
                    amount,
                    0,
                    "settled",
                    now,
                    now,
                )
            )
    with database.bulk() as conn:
        database.load(
            conn,
            "commissions",
            (
                "order_id",
                "order_item_id",
                "buyer_id",
                "beneficiary_id",
                "level",
                "base_fen",
                "rate_bp",
                "rate_source",
                "amount_fen",
                "clawed_fen",
                "status",
                "created_at",
                "settled_at",
            ),
            rows,
        )
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE orders SET referrer_l1_id = %s, referrer_l2_id = %s, "
                "attributed_at = %s, commission_settled_at = %s WHERE id = %s",
                [(owner, grandparent, now, now, oid) for oid in ids],
            )
    database.query("ANALYZE TABLE users, referrals, commissions, orders")
    return size, len(rows)


def explain(database: Database, statements: Sequence[Statement]) -> list[str]:
    lines: list[str] = []
    conn = database.connect()
    try:
        with conn.cursor() as cur:
            for statement in statements:
                if not statement.sql.lstrip().upper().startswith("SELECT"):
                    continue
                text = cur.mogrify(statement.sql, statement.params)
                lines.append(f"    -- {statement.seconds * 1000:.2f} ms: {' '.join(text.split())}")
                cur.execute("EXPLAIN " + statement.sql, statement.params)
                names = [d[0] for d in cur.description or ()]
                keep = ("table", "type", "possible_keys", "key", "key_len", "rows", "Extra")
                for row in cur.fetchall():
                    values = dict(zip(names, row, strict=True))
                    lines.append(
                        "       " + "  ".join(f"{k}={values.get(k)}" for k in keep if k in values)
                    )
    finally:
        conn.close()
    return lines


def time_case(
    app: Flask,
    log: StatementLog,
    database: Database,
    label: str,
    call: Callable[[], int],
    calls: int,
) -> TeamCase:
    """Median of `calls` calls (after a warm-up), each in a fresh app context as a request
    would be; `call` returns the team size it saw. EXPLAIN when the target is missed."""
    samples: list[float] = []
    per_statement: list[list[float]] = []
    last_statements: list[Statement] = []
    total = 0
    for index in range(TEAM_WARMUP_CALLS + calls):
        with app.app_context(), log.record() as entries:
            started = time.perf_counter()
            total = call()
            elapsed = time.perf_counter() - started
        if index >= TEAM_WARMUP_CALLS:
            samples.append(elapsed * 1000)
            for position, entry in enumerate(entries):
                if position == len(per_statement):
                    per_statement.append([])
                per_statement[position].append(entry.seconds * 1000)
            last_statements = list(entries)
    statement_ms = [
        (short_statement(entry.sql), statistics.median(times))
        for entry, times in zip(last_statements, per_statement, strict=False)
    ]
    figures = Figures.of(samples)
    case = TeamCase(label, total, figures, statement_ms)
    print(f"  {label:<30} team {total:>7,}  {figures.line()}")
    for sql, ms in statement_ms:
        print(f"      {ms:7.2f} ms  {sql}")
    if figures.median >= TEAM_TARGET_MS:
        case.explain = explain(database, last_statements)
        print("    EXPLAIN (misses the 50 ms target):")
        for line in case.explain:
            print(line)
    return case


def team_call(user_id: int, depth: int, page: int) -> Callable[[], int]:
    def call() -> int:
        from wxdist.distribution.centre import team_page

        result = team_page(user_id, depth=depth, page=page, per_page=20)
        if len(result.items) != 20:
            raise RuntimeError(f"team_page({user_id}, {depth}, {page}): {len(result.items)} items")
        return result.total

    return call


def sql_count_call(sql: str, user_id: int) -> Callable[[], int]:
    def call() -> int:
        from sqlalchemy import text

        from wxdist.core.extensions import db

        return int(db.session.scalar(text(sql), {"u": user_id}) or 0)

    return call


def overview_call(user_id: int) -> Callable[[], int]:
    def call() -> int:
        from wxdist.distribution.centre import overview

        return int(overview(user_id)["team_size"])

    return call


# ---- driver -------------------------------------------------------------------------------


@dataclass
class Scenario:
    """One database with its forest, app and orders; set up, timed, checked, dropped."""

    options: Options
    label: str
    users: int
    database: Database
    rnd: random.Random
    app: Flask | None = None
    forest: Forest | None = None
    log: StatementLog = field(default_factory=StatementLog)
    load: LoadReport = field(default_factory=LoadReport)
    product_id: int = 0
    sku_id: int = 0
    buyers: list[int] = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)
    cost: AttributionCost = field(default_factory=AttributionCost)
    buyers_deep: int = 0
    verify_problems: list[str] = field(default_factory=list)
    reconcile: list[tuple[str, int, float]] = field(default_factory=list)
    team: list[TeamCase] = field(default_factory=list)
    team_what_if: list[TeamCase] = field(default_factory=list)

    @staticmethod
    def new(options: Options, label: str, users: int, rnd: random.Random) -> Scenario:
        name = f"wxdist_attr_{label}_{secrets.token_hex(4)}"
        return Scenario(options, label, users, Database(options, name, options.loader), rnd)

    @property
    def figures(self) -> Figures:
        return Figures.of(self.cost.samples_ms)

    def setup(self) -> None:
        """Database, migrations, forest, catalogue, and the paid orders to attribute."""
        print(f"\n=== {self.label}: {self.users:,} users, database {self.database.name}")
        self.database.create()
        self.app = make_app(self.database)
        self.load.migrate_s = migrate(self.app)
        print(f"  migrations {self.load.migrate_s:.1f} s")
        started = time.perf_counter()
        forest = self.forest = build_forest(self.users, self.rnd)
        self.load.generate_s = time.perf_counter() - started
        referred = sum(1 for i in range(1, forest.n + 1) if forest.parent[i])
        distributors = sum(1 for i in range(1, forest.n + 1) if forest.children[i])
        print(
            f"  forest generated in {self.load.generate_s:.1f} s: {referred:,} referral rows, "
            f"{distributors:,} distributors, max depth {max(forest.depth)}"
        )
        self.product_id, self.sku_id = seed_catalogue(self.app)
        load_forest(self.database, forest, self.load)
        with self.app.app_context():
            from wxdist.core.extensions import db

            self.log.attach(db.engine)
        self.buyers = pick_buyers(forest, WARMUP_ORDERS + self.options.orders, self.rnd)
        self.buyers_deep = sum(1 for b in self.buyers[WARMUP_ORDERS:] if forest.depth[b] >= 40)
        self.order_ids = insert_paid_orders(
            self.database, self.buyers, 1, self.product_id, self.sku_id, "A"
        )
        print(
            f"  {len(self.order_ids)} paid orders inserted ({WARMUP_ORDERS} warm-up); timed "
            f"buyers: {self.buyers_deep} at depth >= 40, "
            f"max depth {max(forest.depth[b] for b in self.buyers)}"
        )

    def attribute(self, index: int) -> None:
        """attribute_order for the index-th order, in a fresh app context (as a job)."""
        from wxdist.distribution.commissions import attribute_order

        assert self.app is not None
        order_id = self.order_ids[index]
        with self.app.app_context(), self.log.record():
            started = time.perf_counter()
            written = attribute_order(order_id)
            elapsed = time.perf_counter() - started
        if written != 2:
            raise RuntimeError(f"{self.label} order {order_id}: {written} records, not 2")
        if index >= WARMUP_ORDERS:
            self.cost.add(elapsed, self.log)

    def check(self) -> None:
        assert self.app is not None and self.forest is not None
        self.verify_problems = verify_attribution(
            self.database, self.forest, self.order_ids, self.buyers
        )
        print(
            f"  {self.label}: verify commissions: "
            + ("ok" if not self.verify_problems else f"{len(self.verify_problems)} problems")
        )
        for problem in self.verify_problems[:10]:
            print(f"    {problem}")
        for name, found, seconds, sample in run_reconcile(self.app):
            self.reconcile.append((name, found, seconds))
            print(f"  {self.label}: reconcile.{name:<34} {found} found  {seconds:6.2f} s")
            for line in sample:
                print(f"    {line}")

    def run_team(self) -> None:
        assert self.app is not None and self.forest is not None
        forest = self.forest
        owner, referrer = choose_team_owner(forest)
        print(
            f"\n=== team page ({self.label} database): D={owner} (depth {forest.depth[owner]}, "
            f"{forest.children[owner]} members before), G={referrer} "
            f"({forest.children[referrer]} members before)"
        )
        _, commissions = grow_team(
            self.database,
            forest,
            owner,
            self.options.team_size,
            self.product_id,
            self.sku_id,
            self.order_ids[-1] + 1,
        )
        print(f"  {commissions} commission rows (D level 1, G level 2) from D's members")
        cases: list[tuple[str, Callable[[], int]]] = [
            ("D depth 1 page 1", team_call(owner, 1, 1)),
            ("D depth 1 page 100", team_call(owner, 1, 100)),
            ("G depth 2 page 1", team_call(referrer, 2, 1)),
            ("D overview (extra)", overview_call(owner)),
        ]
        calls = self.options.team_calls
        for label, call in cases:
            self.team.append(time_case(self.app, self.log, self.database, label, call, calls))
        if not self.options.what_if or all(c.figures.median < TEAM_TARGET_MS for c in self.team):
            return
        print(
            "\n=== what-if (this bench database only; no migration or model is changed):\n"
            f"  {WHAT_IF_DDL}"
        )
        started = time.perf_counter()
        try:
            self.database.query(WHAT_IF_DDL)
        except pymysql.err.OperationalError as exc:  # the migration already changed them
            print(f"  skipped: the migrated schema has no index to replace ({exc.args[1]})")
            return
        self.database.query("ANALYZE TABLE referrals")
        print(f"  index rebuilt in {time.perf_counter() - started:.1f} s")
        cases.append(("D team count, 2 COUNTs (SQL)", sql_count_call(SPLIT_TEAM_COUNT, owner)))
        for label, call in cases:
            self.team_what_if.append(
                time_case(self.app, self.log, self.database, label, call, calls)
            )

    def teardown(self) -> None:
        if self.app is not None:
            with self.app.app_context():
                from wxdist.core.extensions import db

                db.engine.dispose()
        if self.options.keep_db:
            print(f"  kept database {self.database.name}")
        else:
            self.database.drop()


def time_interleaved(scenarios: Sequence[Scenario]) -> None:
    """Attribute order i of every scenario before order i + 1 of any, alternating which goes
    first, so that load from elsewhere on the machine hits the scenarios alike."""
    count = len(scenarios[0].order_ids)
    print(f"\n=== attribute_order: {count} orders per scenario, interleaved across scenarios")
    for index in range(count):
        for scenario in scenarios if index % 2 == 0 else list(reversed(scenarios)):
            scenario.attribute(index)
    for scenario in scenarios:
        per_call, stmt, commit, ping, rest = scenario.cost.per_call_ms()
        print(f"  {scenario.label:<6} {scenario.figures.line()}")
        print(
            f"         per call: {per_call:.1f} statements {stmt:.2f} ms, COMMIT {commit:.2f} ms, "
            f"pre-ping {ping:.2f} ms, Python/ORM/driver {rest:.2f} ms"
        )
    if len(scenarios) == 2:
        small, large = scenarios
        paired = [b / a for a, b in zip(small.cost.samples_ms, large.cost.samples_ms, strict=True)]
        print(f"  median of paired per-order ratios large/small: {statistics.median(paired):.2f}")
    labels = " | ".join(scenario.label for scenario in scenarios)
    print(f"  per statement, median ms ({labels}):")
    first = scenarios[0]
    for position, sql in enumerate(first.cost.statement_sql):
        medians = [
            statistics.median(scenario.cost.per_statement_ms[position])
            if position < len(scenario.cost.per_statement_ms)
            else float("nan")
            for scenario in scenarios
        ]
        figures = " | ".join(f"{ms:6.2f}" for ms in medians)
        print(f"    {position + 1:>2}. {figures}  {short_statement(sql)}")


def short_statement(sql: str) -> str:
    flat = " ".join(sql.split())
    verb = flat.split(" ", 1)[0]
    if verb == "SELECT":
        head, _, rest = flat.partition(" FROM ")
        table = rest.split(" ", 1)[0] or "?"
        where = flat.split(" WHERE ", 1)[1][:70] if " WHERE " in flat else ""
        kind = "COUNT" if "count(" in head.lower() and "group by" not in flat.lower() else "SELECT"
        return f"{kind} {table} WHERE {where}"
    if verb == "UPDATE":
        return " ".join(flat.split(" ")[:2]) + " SET " + flat.split(" SET ", 1)[1][:40]
    if verb == "INSERT":
        return " ".join(flat.split(" ")[:3])
    return flat[:60]


def print_summary(scenarios: Sequence[Scenario], wall_s: float) -> None:
    print("\n" + "=" * 96)
    print("SUMMARY")
    print("=" * 96)
    print(
        f"{'scenario':<8} {'users':>10} {'loader':<7} {'users s':>8} {'refs s':>8} "
        f"{'distr s':>8} {'accts s':>8} {'analyze':>8} {'size MB':>8}"
    )
    for s in scenarios:
        seconds = {table: t for table, _, t in s.load.tables}
        print(
            f"{s.label:<8} {s.users:>10,} {s.database.loader:<7} {seconds.get('users', 0):>8.1f} "
            f"{seconds.get('referrals', 0):>8.1f} {seconds.get('distributors', 0):>8.1f} "
            f"{seconds.get('distributor_accounts', 0):>8.1f} {s.load.analyze_s:>8.1f} "
            f"{s.load.size_mb:>8.0f}"
        )
    print()
    print(
        f"{'attribute_order':<16} {'n':>5} {'median':>8} {'p90':>8} {'p99':>8} {'mean':>8} "
        f"{'stmts':>6} {'verify':>7} {'reconcile':>10} {'recon s':>8}"
    )
    for s in scenarios:
        f = s.figures
        found = sum(n for _, n, _ in s.reconcile)
        print(
            f"{s.label:<16} {f.count:>5} {f.median:>8.2f} {f.p90:>8.2f} {f.p99:>8.2f} "
            f"{f.mean:>8.2f} {s.cost.per_call_ms()[0]:>6.1f} "
            f"{'ok' if not s.verify_problems else 'FAIL':>7} "
            f"{'empty' if not found else f'{found} found':>10} "
            f"{sum(t for _, _, t in s.reconcile):>8.2f}"
        )
    if len(scenarios) == 2:
        small, large = scenarios
        ratio = large.figures.median / small.figures.median
        verdict = "PASS" if ratio <= ATTRIBUTION_TARGET_RATIO else "MISS"
        paired = statistics.median(
            b / a for a, b in zip(small.cost.samples_ms, large.cost.samples_ms, strict=True)
        )
        print(
            f"median ratio large/small: {ratio:.2f}x "
            f"(target <= {ATTRIBUTION_TARGET_RATIO}x): {verdict}; "
            f"median of paired per-order ratios {paired:.2f}x"
        )
    for s in scenarios:
        if not s.team:
            continue
        print()
        print(
            f"{'team_page (' + s.label + ')':<28} {'members':>8} {'median':>8} {'p90':>8} "
            f"{'target':>7} {'verdict':>7}"
        )
        for title, cases in (("as migrated", s.team), ("what-if index", s.team_what_if)):
            if not cases:
                continue
            print(f"  {title}:")
            for case in cases:
                verdict = "PASS" if case.figures.median < TEAM_TARGET_MS else "MISS"
                print(
                    f"{case.label:<28} {case.total:>8,} {case.figures.median:>8.2f} "
                    f"{case.figures.p90:>8.2f} {'<50 ms':>7} {verdict:>7}"
                )
    print(f"\nwall time {wall_s / 60:.1f} min")


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.perf_counter()
    pool_mb = int(server_variable(options, "innodb_buffer_pool_size")) >> 20
    flush = server_variable(options, "innodb_flush_log_at_trx_commit")
    print(
        f"MariaDB {options.host}:{options.port}: innodb_buffer_pool_size={pool_mb} MB, "
        f"innodb_flush_log_at_trx_commit={flush}; {os.cpu_count()} CPUs"
    )
    rnd = random.Random(options.seed)
    scenarios = [Scenario.new(options, "small", options.small, rnd)]
    if options.large:
        scenarios.append(Scenario.new(options, "large", options.large, rnd))
    try:
        for scenario in scenarios:
            scenario.setup()
        time_interleaved(scenarios)
        print("\n=== checks")
        for scenario in scenarios:
            scenario.check()
        scenarios[-1].run_team()
    finally:
        for scenario in scenarios:
            scenario.teardown()
    print_summary(scenarios, time.perf_counter() - started)
    failed = any(s.verify_problems or any(n for _, n, _ in s.reconcile) for s in scenarios)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
