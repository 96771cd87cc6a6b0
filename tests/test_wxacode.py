"""Mini-program codes: the emulator's real QR of page and scene, fetched from WeChat once per
(scene, page, env) and kept, across threads and processes (sharing Redis when REDIS_URL is
set, the media directory's file locks when not)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.share_helpers import code_fetches, decode_qr, wechat_stats
from tests.shop import become_distributor, make_product
from wxdist.sharing.wxacode import get_code, spec_for

ROOT = Path(__file__).resolve().parent.parent

# A second app process: builds the app from the environment and fetches one code.
WORKER = """
import hashlib, sys, time
from wxdist import create_app
from wxdist.sharing.wxacode import get_code, spec_for
app = create_app()
with app.app_context():
    spec = spec_for(sys.argv[1])
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
    print(hashlib.sha256(get_code(spec)).hexdigest())
"""


@pytest.fixture(autouse=True)
def _media(
    app: Flask, emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A media directory of this test's own, and the emulator's counters from zero (ids,
    hence scenes, repeat between tests on SQLite)."""
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    requests.post(f"{emulator.url}/_emulator/wechat/reset", timeout=5).raise_for_status()


def _arm(emulator: EmulatorServer, mode: str, **extra: object) -> None:
    response = requests.post(
        f"{emulator.url}/_emulator/faults",
        json={"key": "/wxa/getwxacodeunlimit", "mode": mode, **extra},
        timeout=5,
    )
    response.raise_for_status()


def _second_process(app: Flask, scene: str, start_at: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "WXDIST_ENV": "test",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "EMULATOR_URL": app.config["EMULATOR_URL"],
        "MEDIA_DIR": app.config["MEDIA_DIR"],
        "GATEWAY_TIMEOUT_SECONDS": str(app.config["GATEWAY_TIMEOUT_SECONDS"]),
        "REDIS_URL": app.config.get("REDIS_URL") or "",
    }
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, scene, str(start_at)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out.strip()


def test_the_code_is_a_qr_of_page_and_scene_fetched_from_wechat_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    product = make_product(app)
    h = become_distributor(client, "code-1")["headers"]
    first = client.get(
        "/api/v1/distributor/code",
        query_string={"product_id": product["product_id"], "channel": "group"},
        headers=h,
    )
    assert first.status_code == 200 and first.mimetype == "image/png"
    scene = first.headers["X-Share-Scene"]
    assert decode_qr(first.data) == [f"pages/index/index?scene={scene}"]
    assert code_fetches(emulator.url, scene) == 1

    again = client.get(
        "/api/v1/distributor/code",
        query_string={"product_id": product["product_id"], "channel": "group"},
        headers=h,
    )
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    cached = client.get(
        "/api/v1/distributor/code",
        query_string={"product_id": product["product_id"], "channel": "group"},
        headers={**h, "If-None-Match": first.headers["ETag"]},
    )
    assert cached.status_code == 304
    assert code_fetches(emulator.url, scene) == 1


def test_a_second_process_never_calls_wechat_again_for_the_same_code(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    h = become_distributor(client, "code-2")["headers"]
    first = client.get("/api/v1/distributor/code", headers=h)
    scene = first.headers["X-Share-Scene"]
    tokens_before = wechat_stats(emulator.url)["token_fetches"]

    digest = _wait(_second_process(app, scene, time.time()))
    assert digest == __import__("hashlib").sha256(first.data).hexdigest()
    assert code_fetches(emulator.url, scene) == 1
    if app.config.get("REDIS_URL"):
        # The access token is shared through Redis: the second process fetched none.
        assert wechat_stats(emulator.url)["token_fetches"] == tokens_before


def test_concurrent_first_requests_in_two_processes_and_a_thread_fetch_once(
    app: Flask, emulator: EmulatorServer
) -> None:
    scene = "sRace" + str(int(time.time() * 1000) % 10**7)
    with app.app_context():
        get_code(spec_for("warm-up"))  # the token, so the race is about the code alone
    # Hold WeChat's answers a second, so all three callers arrive while the first waits.
    _arm(emulator, "timeout", seconds=1.0, times=5)
    start_at = time.time() + 2.5
    workers = [_second_process(app, scene, start_at) for _ in range(2)]
    results: list[bytes] = []

    def mine() -> None:
        with app.app_context():
            time.sleep(max(0.0, start_at - time.time()))
            results.append(get_code(spec_for(scene)))

    thread = threading.Thread(target=mine)
    thread.start()
    digests = {_wait(w) for w in workers}
    thread.join(30)
    assert len(results) == 1 and len(digests) == 1
    assert digests == {__import__("hashlib").sha256(results[0]).hexdigest()}
    assert code_fetches(emulator.url, scene) == 1
    assert decode_qr(results[0]) == [f"pages/index/index?scene={scene}"]


def test_an_expired_token_is_refreshed_once_and_a_refusal_is_not_kept(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    h = become_distributor(client, "code-3")["headers"]
    client.get("/api/v1/distributor/code", headers=h)
    requests.post(f"{emulator.url}/_emulator/wechat/expire-tokens", timeout=5)
    before = wechat_stats(emulator.url)["token_fetches"]
    ok = client.get("/api/v1/distributor/code", query_string={"channel": "live"}, headers=h)
    assert ok.status_code == 200
    assert wechat_stats(emulator.url)["token_fetches"] == before + 1

    calls = wechat_stats(emulator.url)["wxacode"]
    _arm(emulator, "fail", code="45009", message="reach max api daily quota limit", times=1)
    refused = client.get("/api/v1/distributor/code", query_string={"channel": "moments"}, headers=h)
    assert refused.status_code == 502
    assert "45009" in refused.get_json()["error"]["message"]
    retried = client.get("/api/v1/distributor/code", query_string={"channel": "moments"}, headers=h)
    assert retried.status_code == 200
    # Refused, then asked again (nothing was kept), then never again.
    client.get("/api/v1/distributor/code", query_string={"channel": "moments"}, headers=h)
    assert wechat_stats(emulator.url)["wxacode"] == calls + 2


def test_env_version_and_page_come_from_the_settings(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MINIPROGRAM_PAGE", "pages/share/landing")
    monkeypatch.setitem(app.config, "MINIPROGRAM_ENV_VERSION", "trial")
    h = become_distributor(client, "code-4")["headers"]
    response = client.get("/api/v1/distributor/code", headers=h)
    scene = response.headers["X-Share-Scene"]
    assert decode_qr(response.data) == [f"pages/share/landing?scene={scene}"]
    by_key = wechat_stats(emulator.url)["wxacode_by_key"]
    assert by_key[f"{scene}|pages/share/landing|trial"] == 1
