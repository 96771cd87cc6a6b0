"""wxdist: the backend of a WeChat mini-program store with a distribution programme."""

from __future__ import annotations

from typing import Any

from flask import Flask

from config import load_settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, overridden by `config` (tests pass theirs).

    Raises config.ConfigError when settings are malformed or half given (a
    MEDIA_STORAGE_URL passed in `config` too).
    """
    from miniprogram_api import register_api
    from wxdist import cli, models  # noqa: F401  (models registers tables)
    from wxdist.core import gateways, i18n, media_s3, pool_reset, sessions, sqlite_locks
    from wxdist.core.errors import register_error_handlers
    from wxdist.core.extensions import db, migrate
    from wxdist.core.request_json import BoundedJSONRequest
    from wxdist.open_api import register_open_api
    from wxdist.panel import register_panel
    from wxdist.web.media import media_bp
    from wxdist.web.notify import notify_bp
    from wxdist.web.tracking import tracking_bp
    from wxdist.web.wechat_message import message_bp

    app = Flask(__name__, instance_relative_config=False)
    app.request_class = BoundedJSONRequest  # JSON bodies decoded within depth bounds
    app.config.update(load_settings())
    if config:
        app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    _ensure_sqlite_dir(app.config["SQLALCHEMY_DATABASE_URI"])

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            pool_reset.install(engine)
            sqlite_locks.install(engine)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    gateways.init_app(app)
    sessions.init_app(app)  # cookie sessions for the panel only
    i18n.init_app(app)  # zh_CN unless the staff member or Accept-Language asks for en
    media_s3.install(app)  # MEDIA_STORAGE_URL's bucket, if set (connects at first use)
    register_error_handlers(app)
    register_api(app)
    register_open_api(app)
    app.register_blueprint(notify_bp)
    app.register_blueprint(message_bp)
    app.register_blueprint(tracking_bp)
    app.register_blueprint(media_bp)
    register_panel(app)
    cli.register(app)
    _connect_receivers()

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return {"ok": True}

    return app


def _connect_receivers() -> None:
    """Each domain's reactions to `core.events`, lower domains first (the order receivers
    run in), and the catalogue's flush listeners (its search index, the products' covers).
    Idempotent: every app built connects the same functions once."""
    from wxdist.catalog import covers
    from wxdist.catalog import search as catalog
    from wxdist.customers import receivers as customers
    from wxdist.distribution import receivers as distribution
    from wxdist.integrations import receivers as integrations
    from wxdist.marketing import receivers as marketing
    from wxdist.money import receivers as money
    from wxdist.notifications import receivers as notifications
    from wxdist.reporting import receivers as reporting
    from wxdist.sharing import receivers as sharing
    from wxdist.shop import receivers as shop

    catalog.connect()
    covers.connect()
    shop.connect()
    distribution.connect()
    marketing.connect()
    sharing.connect()
    money.connect()
    reporting.connect()
    customers.connect()
    integrations.connect()
    notifications.connect()


def _migrations_dir():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _ensure_sqlite_dir(uri: str) -> None:
    from pathlib import Path

    prefix = "sqlite:///"
    if uri.startswith(prefix) and uri != "sqlite:///:memory:":
        Path(uri[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)
