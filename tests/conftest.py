"""Test fixtures: one database per test session (SQLite file, or a fresh MariaDB database
when DATABASE_URL is MySQL), migrated with Alembic; the gateway emulator and the app both
served over real HTTP on loopback, so notifies travel as they do in production.

With REDIS_URL set, jobs go to RQ and `run_jobs()` drains them with a real worker. The Redis
database of REDIS_URL is flushed before each test: give the suite a database of its own.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from config import load_settings
from payments.emulator import EmulatorServer, EmulatorSettings
from wxdist import create_app
from wxdist.core.extensions import db

pytest_plugins = ("tests.workers",)  # the `workers` fixture of crash tests


def _mysql_database(base_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database with the character set and collation of the one `base_url` names
    (CI names a utf8mb4_unicode_ci one), so the suite runs on the collation it will meet.
    Raises if the named database does not exist."""
    url = make_url(base_url)
    name = f"wxdist_t_{uuid.uuid4().hex[:10]}"
    server = create_engine(url.set(database=""))
    with server.begin() as conn:
        found = conn.execute(
            text(
                "SELECT default_character_set_name, default_collation_name"
                " FROM information_schema.schemata WHERE schema_name = :name"
            ),
            {"name": url.database},
        ).first()
        if found is None:
            raise RuntimeError(f"DATABASE_URL names a database that does not exist: {url.database}")
        charset, collation = found
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET {charset} COLLATE {collation}"))

    def drop() -> None:
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def own_database(
    base_settings: dict[str, Any], directory: Path
) -> tuple[str, dict[str, Any], Callable[[], None] | None]:
    """A database of its own: a fresh MariaDB one when DATABASE_URL names MariaDB, else a
    SQLite file in `directory`. Returns its URL, the engine options and how to drop it
    (None for SQLite)."""
    env_url = os.environ.get("DATABASE_URL", "")
    if env_url.startswith("mysql"):
        url, drop = _mysql_database(env_url)
        return url, base_settings["SQLALCHEMY_ENGINE_OPTIONS"], drop
    return f"sqlite:///{directory / 'test.db'}", {"connect_args": {"timeout": 30}}, None


@contextmanager
def unmigrated_app(base_settings: dict[str, Any], directory: Path) -> Iterator[Flask]:
    """An app on a database of its own with no tables yet (a migration test walks it up
    and down), the database dropped afterwards."""
    url, options, drop = own_database(base_settings, directory)
    app = create_app(
        {
            "WXDIST_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
            "MEDIA_DIR": str(directory / "media"),
        }
    )
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if drop is not None:
            drop()


class LiveServer:
    """Serve a WSGI app on a free loopback port in a thread."""

    def __init__(self, wsgi_app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        # The storms connect hundreds of clients at once; werkzeug listens with a backlog
        # of 128, and a full accept queue resets connections (seen as a flaky
        # ConnectionResetError in the 500-claim test).
        self.server.socket.listen(1024)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def base_settings() -> dict[str, Any]:
    return load_settings()


@pytest.fixture(scope="session")
def emulator(base_settings: dict[str, Any]) -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorSettings.from_config(base_settings, port=0)).start()
    yield server
    server.stop()


class ReadsEnglish(FlaskClient):
    """A test client whose requests say `Accept-Language: en`, so tests of behaviour can
    name the English they see. The language tests ask for zh-CN, or send no header
    (`environ_base.pop("HTTP_ACCEPT_LANGUAGE")`), on their own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base.setdefault("HTTP_ACCEPT_LANGUAGE", "en")


@pytest.fixture(scope="session")
def app(
    base_settings: dict[str, Any],
    emulator: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    database_url, engine_options, drop = own_database(base_settings, tmp_path_factory.mktemp("db"))
    application = create_app(
        {
            "WXDIST_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "EMULATOR_URL": emulator.url,
            "GATEWAY_TIMEOUT_SECONDS": 3,
            "MEDIA_DIR": str(tmp_path_factory.mktemp("media")),
        }
    )
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    application.test_client_class = ReadsEnglish
    live = LiveServer(application)
    application.config["PUBLIC_BASE_URL"] = live.url
    application.config["LIVE_URL"] = live.url
    yield application
    live.stop()
    with application.app_context():
        db.engine.dispose()
    if drop is not None:
        drop()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table and the Redis test database; disarm emulator faults."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    emulator_server: EmulatorServer = request.getfixturevalue("emulator")
    with application.app_context():
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            # The row the migration seeds, so each test starts from a migrated database.
            conn.execute(text("INSERT INTO referral_lock (id, version) VALUES (1, 0)"))
        if application.config.get("REDIS_URL"):
            from wxdist.core.redis_conn import redis_client

            redis_client(application.config["REDIS_URL"]).flushdb()
    application.extensions.pop("panel_login_limiter", None)  # in-memory sign-in counts
    application.extensions.pop("wxdist_offers_in_force", None)  # promotions read (emptied)
    application.extensions.pop("wxdist_coupon_terms", None)  # templates read (emptied)
    application.extensions.pop("wxdist_promote_ranking", None)  # products ranked (emptied)
    requests.delete(f"{emulator_server.url}/_emulator/faults", timeout=5)
    for gateway in ("wechat", "alipay", "kuaidi100"):
        requests.post(f"{emulator_server.url}/_emulator/{gateway}/reset", timeout=5)
    # No app context stays pushed: each request of the test client gets its own, as in
    # production. Tests read the database inside `with app.app_context():`.
    yield


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def run_jobs(app: Flask) -> Callable[[], int]:
    """Drain the RQ queues with a real (burst) worker; inline mode has nothing queued."""

    def drain() -> int:
        if app.config["INLINE_JOBS"]:
            return 0
        from rq import SimpleWorker

        from wxdist.core.redis_conn import redis_client
        from wxdist.core.tasks import QUEUES, rq_queue

        with app.app_context():  # the jobs reuse this app (jobs.app_context)
            queues = [rq_queue(name) for name in QUEUES]
            worker = SimpleWorker(queues, connection=redis_client(app.config["REDIS_URL"]))
            worker.work(burst=True)
            for queue in queues:
                assert queue.failed_job_registry.count == 0, f"a job failed on {queue.name}"
        return 1

    return drain


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (tests/browser.py)."""
    from tests.browser import chromium_path, launch

    if chromium_path() is None:
        launch(None)  # skips, or fails when the browser is required
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()
