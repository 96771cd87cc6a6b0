"""Shared pieces of the benchmarks: a throwaway MariaDB database, the processes a bench
starts (the app under gunicorn, its environment and migrations), CPU accounting read from
/proc, timed phases driven by `wrk` with bench/wrk_records.lua, shoppers and an HTTP
client pool for set-up, the ceiling phase (bench/ceiling_app.py), and the report's table
and verdicts, bulk loading (LOAD DATA LOCAL INFILE), API tokens signed without a login and
a panel session without a browser. Used by order_flow.py and marketing.py (whose docstrings
explain the method); catalog.py, insight.py, payouts.py, panel.py and others use parts."""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymysql
import requests

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
LUA_SCRIPT = Path(__file__).resolve().parent / "wrk_records.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Database:
    """A database created for one bench run and dropped after it."""

    server_url: str  # mysql+pymysql://user@host:port
    name: str

    @property
    def url(self) -> str:
        return f"{self.server_url}/{self.name}?charset=utf8mb4"

    def _server(self) -> dict[str, Any]:
        from sqlalchemy import make_url

        url = make_url(self.server_url)
        return {
            "host": url.host or "127.0.0.1",
            "port": url.port or 3306,
            "user": url.username or "root",
            "password": url.password or "",
        }

    def connect(self, use_db: bool = True) -> pymysql.connections.Connection:  # type: ignore[type-arg]
        return pymysql.connect(
            **self._server(),
            database=self.name if use_db else None,
            autocommit=True,
            charset="utf8mb4",
        )

    @contextmanager
    def cursor(self, use_db: bool = True) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor on a connection of its own (autocommit), closed afterwards."""
        conn = self.connect(use_db)
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    def create(self) -> None:
        with self.cursor(use_db=False) as cur:
            cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")

    def drop(self) -> None:
        with self.cursor(use_db=False) as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self.cursor() as cur:
            cur.execute(sql, args)
            row = cur.fetchone()
            return None if row is None else row[0]

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def has_column(self, table: str, column: str) -> bool:
        return bool(
            self.scalar(
                "SELECT COUNT(*) FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s AND column_name = %s",
                (self.name, table, column),
            )
        )


# --------------------------------------------------------------------------- bulk loading

BATCH = 5000


def batches(rows: Iterable[tuple], size: int = BATCH) -> Iterator[list[tuple]]:  # type: ignore[type-arg]
    """`rows` in lists of `size` (for executemany)."""
    batch: list[tuple] = []  # type: ignore[type-arg]
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def infile_connection(db: Database) -> pymysql.connections.Connection:  # type: ignore[type-arg]
    """A connection that may LOAD DATA LOCAL INFILE (the server needs `local_infile` on)."""
    return pymysql.connect(
        **db._server(), database=db.name, autocommit=True, charset="utf8mb4", local_infile=True
    )


def tsv_line(row: Iterable[Any]) -> str:
    """One LOAD DATA line: tab-separated, None as \\N (values hold no tab or newline)."""
    return "\t".join("\\N" if v is None else str(v) for v in row) + "\n"


def load_file(conn: pymysql.connections.Connection, path: Path, table: str, columns: str) -> int:  # type: ignore[type-arg]
    """A file of tsv_line rows into `table` (foreign and unique checks off for the load, as
    a restore does); returns the rows loaded. The file is removed."""
    with conn.cursor() as cur:
        cur.execute("SET foreign_key_checks = 0, unique_checks = 0")
        cur.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' ({columns})",
            (str(path),),
        )
        loaded = int(cur.rowcount)
        cur.execute("SET foreign_key_checks = 1, unique_checks = 1")
    path.unlink()
    return loaded


def load_rows(
    conn: pymysql.connections.Connection,  # type: ignore[type-arg]
    workdir: Path,
    table: str,
    columns: str,
    rows: Iterable[Iterable[Any]],
) -> int:
    """Rows into `table` by LOAD DATA LOCAL INFILE; returns the count. Raises RuntimeError
    if the server kept fewer rows than were written."""
    path = workdir / f"{table}.tsv"
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(tsv_line(row))
            count += 1
    loaded = load_file(conn, path, table, columns)
    if loaded != count:
        raise RuntimeError(f"LOAD DATA into {table}: {loaded} of {count} rows")
    return count


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A process this script started, in its own process group (stopped by its id only)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_service(name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> Service:
    """Start `cmd` from the project root in a new session, its output in workdir/name.log."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(name, proc, log_path)


def wait_http(service: Service, url: str, timeout: float = 30.0) -> None:
    """Wait until `url` answers 200. Raises RuntimeError if the service exits or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")
        with suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} did not answer {url} in {timeout:.0f} s")


# --------------------------------------------------------------------------- CPU accounting


def stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (field 3 onwards), or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, children: bool = False) -> float:
    """utime + stime (and, with `children`, of its reaped children: RQ's work-horses)."""
    fields = stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def process_tree(root: int) -> list[int]:
    """`root` and every living descendant."""
    parents = {}
    for pid in _all_pids():
        fields = stat_fields(pid)
        if fields is not None:
            parents[pid] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def pids_named(*names: str) -> list[int]:
    found = []
    for pid in _all_pids():
        with suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() in names:
                found.append(pid)
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts) - idle) / CLK_TCK, sum(parts) / CLK_TCK


# --------------------------------------------------------------------------- the app

INITIAL_STOCK = 100_000_000
PRICE_FEN = 1990
ADDRESS = {
    "name": "张三",
    "phone": "13800138000",
    "region": "上海市 浦东新区",
    "detail": "世纪大道 100 号",
}
# Settings the app must take from its defaults here (dev keys, emulator, inline jobs).
SCRUBBED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "WXDIST_ENV",
    "GATEWAY",
    "SECRET_KEY",
    "PUBLIC_BASE_URL",
    "EMULATOR_URL",
    "PORT",
)
SCRUBBED_PREFIXES = ("WECHAT_", "ALIPAY_", "EMULATOR_")


@dataclass(frozen=True)
class Gunicorn:
    """The gunicorn settings the app and the ceiling run under (the same for both)."""

    workers: int = 2
    worker_class: str = "sync"
    threads: int = 4

    def cmd(self, port: int, target: str) -> list[str]:
        cmd = [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ]
        if self.worker_class == "gthread":
            cmd += ["--threads", str(self.threads)]
        return [*cmd, target]

    def describe(self) -> str:
        threads = f" ({self.threads} threads)" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.workers} x {self.worker_class}{threads}"


def app_env(db: Database, port: int, emulator_url: str, redis_url: str = "") -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SCRUBBED_ENV and not k.startswith(SCRUBBED_PREFIXES)
    }
    env.update(
        FLASK_APP="wsgi.py",
        DATABASE_URL=db.url,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        EMULATOR_URL=emulator_url,
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def flask_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`flask <args>` from the project root with `env` (output captured, not checked)."""
    return subprocess.run(
        [str(VENV_BIN / "flask"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def migrate(env: dict[str, str]) -> None:
    result = flask_cli(env, "db", "upgrade")
    if result.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{result.stdout}\n{result.stderr}")


@contextmanager
def app_context(db: Database) -> Iterator[Flask]:
    """The app on the bench database, in an app context, for seeding (its pool disposed
    afterwards)."""
    from config import load_settings
    from wxdist import create_app
    from wxdist.core.extensions import db as sa

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db.url,
            "SQLALCHEMY_ENGINE_OPTIONS": load_settings({"DATABASE_URL": db.url})[
                "SQLALCHEMY_ENGINE_OPTIONS"
            ],
        }
    )
    with app.app_context():
        try:
            yield app
        finally:
            sa.session.remove()
            sa.engine.dispose()


def seed_catalogue(
    db: Database, title: str = "压测商品", price_fen: int = PRICE_FEN, stock: int = INITIAL_STOCK
) -> int:
    """One product on the shelf with one SKU (`stock` of it); returns the SKU id."""
    from wxdist.core.extensions import db as sa
    from wxdist.models import Product, ProductImage, Sku

    with app_context(db):
        product = Product(
            title=title,
            on_shelf=True,
            images=[ProductImage(url="https://img.example/bench.jpg")],
            skus=[Sku(name="标准", price_fen=price_fen, stock=stock)],
        )
        sa.session.add(product)
        sa.session.commit()
        return int(product.skus[0].id)


# --------------------------------------------------------------------------- CPU accounting


class CpuMeter:
    """CPU seconds used by groups of processes over a phase (read from /proc, read-only)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.started = time.monotonic()
        self.before = {name: self._group(pids) for name, pids in groups.items()}
        self.busy_before = machine_cpu()

    @staticmethod
    def _group(pids: list[int]) -> float:
        return sum(cpu_seconds(pid) for pid in pids)

    def add(self, name: str, pids: list[int]) -> None:
        self.groups[name] = pids
        self.before[name] = 0.0  # a process started after the meter: count all of it

    def report(self) -> tuple[str, float, dict[str, float]]:
        """A one-line summary, CPU used by processes outside the groups (% of a core), and
        the CPU seconds of each group."""
        wall = max(time.monotonic() - self.started, 1e-9)
        used = {name: self._group(pids) - self.before[name] for name, pids in self.groups.items()}
        busy, _ = machine_cpu()
        cores = os.cpu_count() or 1
        machine = busy - self.busy_before[0]  # CPU seconds, all cores together
        others = max(machine - sum(used.values()), 0.0)
        parts = [f"{name} {100 * seconds / wall:.0f}%" for name, seconds in used.items()]
        text = (
            f"CPU in % of one core: {', '.join(parts)}, other processes {100 * others / wall:.0f}%"
            f" (machine {100 * machine / wall:.0f}% of {100 * cores}%)"
        )
        return text, 100 * others / wall, used


def machine_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over `seconds` (0..1), to warn about a loaded machine."""
    before = machine_cpu()
    time.sleep(seconds)
    after = machine_cpu()
    return (after[0] - before[0]) / max(after[1] - before[1], 1e-9)


def warn_if_busy() -> None:
    busy = machine_busy()
    if busy > 0.15:
        print(
            f"WARNING: the machine is already {100 * busy:.0f}% busy before the run; other "
            "processes will share the cores and lower every figure (see 'other processes')."
        )


# --------------------------------------------------------------------------- wrk


@dataclass
class PhaseResult:
    name: str
    requests: int = 0
    ok: int = 0
    bad: int = 0
    socket_errors: int = 0
    in_flight_lost: int = 0
    duration_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    first_error: str = ""
    cpu: str = ""
    others_pct: float = 0.0  # CPU taken by processes outside the bench, % of one core
    server_cpu_s: float = 0.0  # CPU seconds of the gunicorn master and workers
    db_cpu_s: float = 0.0  # CPU seconds of MariaDB
    # Answers by status, with the API's error code for non-2xx ones: {"409 sold_out": 3}.
    outcomes: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # requests wrk sent (records used, with `once`)

    @property
    def server_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_s / self.ok if self.ok else 0.0

    @property
    def db_ms_per_request(self) -> float:
        return 1000 * self.db_cpu_s / self.ok if self.ok else 0.0

    @property
    def errors(self) -> int:
        return self.bad + self.socket_errors + self.in_flight_lost

    @property
    def throughput(self) -> float:
        return self.ok / self.duration_s if self.duration_s else 0.0

    def count_as_ok(self, accepted: Callable[[str], bool]) -> None:
        """Recount ok and bad from the outcomes: those `accepted` are served as intended
        (a refusal the flow expects, e.g. `409 sold_out` in a claim burst)."""
        self.ok = sum(n for outcome, n in self.outcomes.items() if accepted(outcome))
        self.bad = self.requests - self.ok
        # wrk_records.lua keeps the first non-2xx answer, which may be an accepted one.
        others = {o: n for o, n in self.outcomes.items() if not accepted(o)}
        if not others:
            self.first_error = ""
        elif self.first_error:
            self.first_error = f"answers not accepted: {others}; the first non-2xx: " + (
                self.first_error
            )


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit(
            "This bench needs the `wrk` load generator, which is not installed.\n"
            "Install it with: apt-get install -y wrk   (Debian/Ubuntu; as root or with sudo)"
        )
    return path


def write_records(path: Path, records: list[tuple[str, str, str, bytes]]) -> None:
    """One request per line for wrk_records.lua: path, content type, auth, body. An auth
    written `Cookie: <cookies>` is sent as a Cookie header (a panel session), any other as
    Authorization."""
    with path.open("wb") as out:
        for req_path, ctype, auth, body in records:
            if b"\n" in body or b"\t" in body:
                raise ValueError("a record body may not contain a newline or a tab")
            out.write(f"{req_path}\t{ctype}\t{auth}\t".encode() + body + b"\n")


def run_wrk(
    name: str,
    base_url: str,
    records: Path,
    connections: int,
    workdir: Path,
    *,
    seconds: int | None,
    needle: str = "",
    cpu_groups: dict[str, list[int]],
    once: bool | None = None,
) -> PhaseResult:
    """Run one phase: for `seconds` (rotating records) or, with None, each record once.
    `once` with `seconds`: each record at most once, until the time is up or they ran out.
    The first of `cpu_groups` is the server whose CPU per request the table shows."""
    marker = workdir / f"{name}.done"
    marker.unlink(missing_ok=True)
    deadline = math.ceil(time.time() + seconds) if seconds else 0
    cap = (seconds or 0) + 120  # wrk's own -d: a safety net only; the script stops it
    once = not seconds if once is None else once
    cmd = [
        require_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{cap}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        base_url,
        "--",
        str(records),
        str(deadline),
        str(marker),
        needle,
        "once" if once else "cycle",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    meter = CpuMeter(dict(cpu_groups))
    meter.add("wrk", [proc.pid])
    while proc.poll() is None and not marker.exists():
        if deadline and time.time() > deadline + 15:  # in-flight requests never came back
            break  # counted as in_flight_lost
        time.sleep(0.005)
    cpu, others_pct, used = meter.report()
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result for {name}:\n{out}\n{err}")
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    return PhaseResult(
        name=name,
        requests=int(data["completed"]),
        ok=int(data["ok"]),
        bad=int(data["bad"]),
        socket_errors=sum(
            int(data[k]) for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        in_flight_lost=int(data["sent"]) - int(data["completed"]),
        duration_s=int(data["duration_us"]) / 1e6,
        p50_ms=float(data["p50_ms"]),
        p95_ms=float(data.get("p95_ms", 0.0)),
        p99_ms=float(data["p99_ms"]),
        max_ms=float(data["max_ms"]),
        first_error=str(data["first_error"]),
        cpu=cpu,
        others_pct=others_pct,
        server_cpu_s=used[next(iter(cpu_groups))],  # the first group is the server
        db_cpu_s=used.get("mariadb", 0.0),
        outcomes={str(k): int(v) for k, v in data.get("outcomes", {}).items()},
        sent=int(data["sent"]),
    )


# --------------------------------------------------------------------------- shoppers


@dataclass(frozen=True)
class Shopper:
    user_id: int
    token: str

    @property
    def auth(self) -> str:
        return f"Bearer {self.token}"


class Pool:
    """Python HTTP client threads (setup and warm-up only; timing is wrk's)."""

    def __init__(self, base_url: str, threads: int) -> None:
        self.base_url = base_url
        self.local = threading.local()
        self.executor = ThreadPoolExecutor(max_workers=threads)

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def post(self, path: str, body: bytes, ctype: str, auth: str = "") -> requests.Response:
        headers = {"Content-Type": ctype}
        if auth:
            headers["Authorization"] = auth
        return self.session().post(f"{self.base_url}{path}", data=body, headers=headers, timeout=30)

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def login_shoppers(
    base_url: str, count: int, scenes: Sequence[str] = (), pool: Pool | None = None
) -> list[Shopper]:
    """Log in `count` new shoppers through the API (wx.login codes the emulator answers),
    each with one of `scenes` in turn (binding them); in parallel on `pool` if given."""
    run = secrets.token_hex(3)

    def one(i: int) -> Shopper:
        body: dict[str, str] = {"code": f"bench-{run}-{i}"}
        if scenes:
            body["scene"] = scenes[i % len(scenes)]
        raw = json.dumps(body).encode()
        if pool is None:
            response = requests.post(
                f"{base_url}/api/v1/auth/login",
                data=raw,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
        else:
            response = pool.post("/api/v1/auth/login", raw, "application/json")
        if response.status_code not in (200, 201):
            raise RuntimeError(f"login failed: {response.status_code} {response.text}")
        data = response.json()
        return Shopper(user_id=int(data["user"]["id"]), token=data["token"])

    if pool is None:
        return [one(i) for i in range(count)]
    return list(pool.executor.map(one, range(count)))


def signed_tokens(secret_key: str, user_ids: Iterable[int]) -> list[Shopper]:
    """API tokens as `wxdist.accounts.auth.issue_token` signs them for users with
    token_version 1 (the app must run with `secret_key`), without a login round trip."""
    from itsdangerous import URLSafeTimedSerializer

    from wxdist.accounts.auth import TOKEN_SALT

    signer = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
    return [Shopper(uid, signer.dumps({"uid": uid, "v": 1})) for uid in user_ids]


def panel_cookie(base_url: str, username: str, password: str) -> str:
    """Sign in to the panel through its login form (CSRF token included) as a browser
    would; returns the `Cookie:` value of the signed-in session, for wrk records."""
    session = requests.Session()
    page = session.get(f"{base_url}/panel/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("the panel login page has no CSRF token")
    response = session.post(
        f"{base_url}/panel/login",
        data={"username": username, "password": password, "csrf_token": token[1]},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(f"panel sign-in answered {response.status_code}")
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def order_body(sku_id: int, **extra: Any) -> bytes:
    """A create-order (or, without the address, preview) body for one unit of `sku_id`;
    `extra` adds fields (coupon_id, expected_payable_fen)."""
    return json.dumps(
        {"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS, **extra},
        separators=(",", ":"),
    ).encode()


def place_orders(pool: Pool, shoppers: list[Shopper], sku_id: int, count: int) -> int:
    body = order_body(sku_id)

    def one(i: int) -> bool:
        shopper = shoppers[i % len(shoppers)]
        response = pool.post("/api/v1/orders", body, "application/json", shopper.auth)
        return response.status_code == 201

    return sum(pool.executor.map(one, range(count)))


def post_all(pool: Pool, path: str, bodies: list[bytes], ctype: str, needle: str) -> int:
    def one(body: bytes) -> bool:
        response = pool.post(path, body, ctype)
        return 200 <= response.status_code < 300 and (not needle or needle in response.text)

    return sum(pool.executor.map(one, bodies))


# --------------------------------------------------------------------------- the ceiling


def create_ceiling_tables(db: Database) -> None:
    from bench.ceiling_app import SCHEMA

    with db.cursor() as cur:
        for statement in SCHEMA:
            cur.execute(statement)


@dataclass
class Ceiling:
    """bench/ceiling_app.py under the app's gunicorn settings, on the bench database
    (create_ceiling_tables first): one transaction per request on a hot row."""

    gunicorn: Gunicorn
    env: dict[str, str]
    connections: int
    workdir: Path
    mysqld: list[int]
    ticks_outside_wrk: int = 0  # warm-up answers, for the check

    def run(self, seconds: int, warmup: int, services: list[Service]) -> PhaseResult:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        service = start_service(
            "ceiling", self.gunicorn.cmd(port, "bench.ceiling_app:app"), self.env, self.workdir
        )
        services.append(service)
        wait_http(service, f"{url}/healthz")
        tick = b'{"note":"bench"}'
        pool = Pool(url, self.connections)
        self.ticks_outside_wrk += post_all(pool, "/tick", [tick] * warmup, "application/json", "")
        pool.close()
        records = self.workdir / "ceiling.tsv"
        write_records(records, [("/tick", "application/json", "", tick)])
        result = run_wrk(
            "ceiling",
            url,
            records,
            self.connections,
            self.workdir,
            seconds=seconds,
            cpu_groups={"ceiling": process_tree(service.proc.pid), "mariadb": self.mysqld},
        )
        print(f"ceiling: {result.ok} ok in {result.duration_s:.1f} s; {result.cpu}")
        service.stop()
        return result

    def check(self, db: Database, result: PhaseResult) -> Check:
        events = int(db.scalar("SELECT COUNT(*) FROM bench_event"))
        counter = int(db.scalar("SELECT n FROM bench_counter WHERE id = 1"))
        expected = self.ticks_outside_wrk + result.ok
        return Check(
            "ceiling wrote one row per success",
            events == counter == expected,
            f"{events} rows, counter {counter}, {expected} answers",
        )


# --------------------------------------------------------------------------- report

TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def verdict(flow: PhaseResult, ceiling: PhaseResult) -> tuple[float, str]:
    ratio = flow.throughput / ceiling.throughput if ceiling.throughput else 0.0
    misses = []
    if ratio < TARGET_RATIO:
        misses.append(f"throughput {ratio:.2f} < {TARGET_RATIO} of ceiling")
    if flow.p99_ms >= TARGET_P99_MS:
        misses.append(f"p99 {flow.p99_ms:.0f} ms >= {TARGET_P99_MS:.0f} ms")
    if flow.errors:
        misses.append(f"{flow.errors} errors")
    return ratio, "PASS" if not misses else "FAIL (" + "; ".join(misses) + ")"


def print_table(results: list[PhaseResult]) -> None:
    header = (
        f"{'flow':<13}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'secs':>7}{'CPU ms/req: app':>17}{'db':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<13}{r.requests:>9}{r.errors:>8}{r.throughput:>9.1f}{r.p50_ms:>9.1f}"
            f"{r.p99_ms:>9.1f}{r.max_ms:>9.1f}{r.duration_s:>7.1f}"
            f"{r.server_ms_per_request:>17.2f}{r.db_ms_per_request:>6.2f}"
        )


def print_warnings(results: list[PhaseResult]) -> None:
    """Each phase's first error, and a warning when other processes took CPU."""
    for r in results:
        if r.first_error:
            print(f"{r.name}: {r.errors} errors, the first: {r.first_error}")
    noisy = [r.name for r in results if r.others_pct > 15]
    if noisy:
        print(
            f"WARNING: other processes took CPU during {', '.join(noisy)} (see the CPU lines): "
            "those figures are low; run again on a quiet machine."
        )


def print_checks(checks: list[Check]) -> None:
    for check in checks:
        print(f"[{'ok' if check.passed else 'FAILED'}] {check.name}: {check.detail}")
