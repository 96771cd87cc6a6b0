"""Poster benchmark: cold render time, and cached poster requests under gunicorn against a
bare Flask endpoint.

Run from the repository root (needs `wrk`: `apt-get install -y wrk`):

    .venv/bin/python bench/posters.py [--renders 60] [--seconds 10] [--connections 16]

What it does, in a temporary directory it removes at the end:

1. migrates a fresh SQLite database, starts the gateway emulator (`flask emulator`), and
   creates one on-shelf product whose picture (an 800×800 JPEG) is in the media storage and
   one approved distributor with an emoji nickname and no avatar;
2. cold render: draws that distributor's 750×1334 product poster `--renders` times in this
   process (`wxdist.sharing.posters.render`, no poster cached: decode the product picture as
   scaled by the product's first poster, decode and scale the code, draw the avatar disc
   and the texts with their fallback fonts, encode the JPEG), after one warm-up draw that
   loads the fonts; prints the median and p90; then the median of the first poster of a
   product (the 800×800 picture decoded, cropped and scaled to 750×750 too), and the very
   first draw of the process (fonts and character maps loaded);
3. cached requests: serves the app with gunicorn (2 sync workers, loopback), asks for the
   poster once (drawn and stored), then `wrk` GETs `/api/v1/distributor/poster?product_id=…`
   with the bearer token for `--seconds`: every answer is the stored JPEG (token signature
   checked per request; the one query for token version, share code, product and template
   trusted for POSTER_RECHECK_SECONDS=2 per process; the bytes sent from disk); then again
   with POSTER_RECHECK_SECONDS=0 (the query on every request), for comparison;
4. ceiling: `bench/ceiling_posters.py` under the same gunicorn settings, a bare Flask
   endpoint answering the same JPEG bytes from memory, measured the same way;
5. prints requests per second of both, the ratio (target ≥ 0.5), and non-2xx counts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

NICKNAME = "小明😀🎉同学"
TITLE = "新疆阿克苏冰糖心苹果当季新鲜水果整箱10斤装大果径85mm以上脆甜多汁产地直发坏果包赔"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def gunicorn(target: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        str(BIN / "gunicorn"),
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
        target,
    ]
    return start(cmd, env, log)


def run_wrk(url: str, seconds: int, connections: int, headers: list[str]) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"50%\s+([\d.]+)(\w+)", out)
    return {
        "rps": rps,
        "requests": total,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "none",  # type: ignore[dict-item]
        "p50": f"{p50.group(1)}{p50.group(2)}" if p50 else "?",  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=60)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--diagnose", action="store_true", help="also measure the app's /healthz and /media/"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    work = Path(tempfile.mkdtemp(prefix="wxdist-bench-posters-"))
    emulator_port, bare_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "FLASK_APP": "wsgi.py",
        "WXDIST_ENV": "development",
        "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
        "MEDIA_DIR": str(work / "media"),
        "EMULATOR_URL": f"http://127.0.0.1:{emulator_port}",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [str(BIN / "flask"), "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        procs.append(start([str(BIN / "flask"), "emulator"], env, work / "emulator.log"))
        wait_http(f"{env['EMULATOR_URL']}/_emulator/health")

        from tests.share_helpers import product_picture
        from wxdist import create_app
        from wxdist.accounts import ledger
        from wxdist.accounts.auth import issue_token
        from wxdist.core.extensions import db
        from wxdist.core.media import load_picture, storage
        from wxdist.models import Distributor, Product, ProductImage, Sku, User
        from wxdist.models.types import utcnow
        from wxdist.sharing import posters
        from wxdist.sharing.wxacode import get_code

        app = create_app()
        with app.app_context():
            storage().put("uploads/bench.jpg", product_picture())
            product = Product(
                title=TITLE,
                on_shelf=True,
                images=[ProductImage(url="/media/uploads/bench.jpg")],
                skus=[Sku(name="10斤", price_fen=12990, stock=100)],
            )
            user = User(openid="bench-distributor", nickname=NICKNAME)
            db.session.add_all([product, user])
            db.session.flush()
            now = utcnow()
            db.session.add(
                Distributor(user_id=user.id, status="approved", applied_at=now, approved_at=now)
            )
            ledger.ensure_account(user.id)
            db.session.commit()
            product_id, token = product.id, issue_token(user)

            # -- cold render -------------------------------------------------------------
            inputs = posters.inputs_for(user, product_id)
            code_png = get_code(inputs.code)
            picture = load_picture(inputs.product.image_url).data  # type: ignore[union-attr]
            started = time.perf_counter()
            posters.render(inputs, code_png, None, picture)
            first_ms = (time.perf_counter() - started) * 1000
            timings = []
            for _ in range(args.renders):
                started = time.perf_counter()
                jpeg = posters.render(inputs, code_png, None, picture)
                timings.append((time.perf_counter() - started) * 1000)
            (work / "poster.jpg").write_bytes(jpeg)
            # The first poster of a product also scales its picture (kept for the rest).
            scaled = posters.scaled_key(picture, (750, 750))
            firsts = []
            for _ in range(max(5, args.renders // 4)):
                storage().delete(scaled)
                started = time.perf_counter()
                posters.render(inputs, code_png, None, picture)
                firsts.append((time.perf_counter() - started) * 1000)
        timings.sort()
        median = statistics.median(timings)
        p90 = timings[int(len(timings) * 0.9) - 1]
        first_of_product = statistics.median(firsts)

        # -- cached requests under gunicorn -------------------------------------------------
        import requests

        auth = f"Authorization: Bearer {token}"
        results = {}
        for recheck in ("2", "0"):  # the default; and asking the database every request
            port = free_port()
            app_env = {**env, "POSTER_RECHECK_SECONDS": recheck}
            procs.append(gunicorn("wsgi:app", port, app_env, work / f"app-{recheck}.log"))
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz")
            url = f"{base}/api/v1/distributor/poster?product_id={product_id}"
            first = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            first.raise_for_status()
            cached_jpeg = first.content
            results[recheck] = run_wrk(url, args.seconds, args.connections, [auth])
            if args.diagnose and recheck == "2":
                for extra in ("/healthz", "/media/uploads/bench.jpg"):
                    r = run_wrk(base + extra, args.seconds, args.connections, [auth])
                    print(f"diagnose: app GET {extra}: {r['rps']:.0f} req/s (p50 {r['p50']})")
            again = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert again.content == cached_jpeg, "the poster changed during the run"
            stop(procs.pop())
        app_result, every_result = results["2"], results["0"]

        (work / "poster-served.jpg").write_bytes(cached_jpeg)
        env_bare = {**env, "BENCH_POSTER_FILE": str(work / "poster-served.jpg")}
        procs.append(gunicorn("bench.ceiling_posters:app", bare_port, env_bare, work / "bare.log"))
        bare_url = f"http://127.0.0.1:{bare_port}/poster"
        wait_http(bare_url)
        assert requests.get(bare_url, timeout=5).content == cached_jpeg
        bare_result = run_wrk(bare_url, args.seconds, args.connections, [auth])
        stop(procs.pop())
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)

    ratio = app_result["rps"] / bare_result["rps"]
    print(f"poster: 750x1334 product poster, JPEG {len(cached_jpeg) // 1024} KiB")
    print(
        f"cold render ({args.renders} draws, fonts loaded): median {median:.1f} ms, "
        f"p90 {p90:.1f} ms (target <= 30 ms: {'met' if median <= 30 else 'MISSED'}); "
        f"first poster of a product (its 800x800 picture scaled too): median "
        f"{first_of_product:.1f} ms; first draw in a fresh process {first_ms:.0f} ms"
    )
    print(
        f"cached poster   GET /api/v1/distributor/poster: {app_result['rps']:.0f} req/s "
        f"(p50 {app_result['p50']}, {app_result['requests']:.0f} requests, "
        f"non-2xx {app_result['non2xx']:.0f}, socket errors {app_result['socket_errors']})"
    )
    print(
        f"  same, POSTER_RECHECK_SECONDS=0 (a query per request): {every_result['rps']:.0f} "
        f"req/s (p50 {every_result['p50']}, ratio {every_result['rps'] / bare_result['rps']:.2f})"
    )
    print(
        f"bare Flask      GET /poster (same bytes):       {bare_result['rps']:.0f} req/s "
        f"(p50 {bare_result['p50']}, {bare_result['requests']:.0f} requests, "
        f"non-2xx {bare_result['non2xx']:.0f}, socket errors {bare_result['socket_errors']})"
    )
    print(
        f"ratio {ratio:.2f} (target >= 0.5: {'met' if ratio >= 0.5 else 'MISSED'}); "
        f"gunicorn 2 sync workers, wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"{os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
