"""The ceiling for bench/order_flow.py: a bare Flask app doing the least a write request can.

Each `POST /tick` runs one transaction on the bench database: `SELECT … FOR UPDATE` of one
hot row of `bench_counter`, `UPDATE` of that row, `INSERT` of a row into `bench_event`, then
answers JSON. That is the shape of placing an order (lock the SKU row, change it, insert the
order) without the ORM, auth, validation or serialisation, on the same driver (PyMySQL),
pool settings (with the app's reset on return, wxdist.core.pool_reset: no ROLLBACK after the
COMMIT) and gunicorn settings as the app. bench/order_flow.py creates the tables and
serves this module with `gunicorn bench.ceiling_app:app`; it reads DATABASE_URL.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import create_engine, text

from config import load_settings
from wxdist.core import pool_reset

COUNTER_ID = 1

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bench_counter ("
    " id BIGINT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS bench_event ("
    " id BIGINT AUTO_INCREMENT PRIMARY KEY, counter_id BIGINT NOT NULL, n BIGINT NOT NULL,"
    " note VARCHAR(64) NOT NULL, created_at DATETIME(6) NOT NULL) ENGINE=InnoDB",
    f"INSERT INTO bench_counter (id, n) VALUES ({COUNTER_ID}, 0)",
)


def create_ceiling_app(database_url: str) -> Flask:
    settings = load_settings({"DATABASE_URL": database_url})
    engine = create_engine(
        database_url, **settings["SQLALCHEMY_ENGINE_OPTIONS"], **pool_reset.ENGINE_OPTIONS
    )
    pool_reset.install(engine)
    app = Flask(__name__)

    @app.post("/tick")
    def tick() -> ResponseReturnValue:
        payload = request.get_json(silent=True) or {}
        note = str(payload.get("note", ""))[:64]
        with engine.begin() as conn:
            n = conn.execute(
                text("SELECT n FROM bench_counter WHERE id = :id FOR UPDATE"), {"id": COUNTER_ID}
            ).scalar_one()
            conn.execute(
                text("UPDATE bench_counter SET n = n + 1 WHERE id = :id"), {"id": COUNTER_ID}
            )
            conn.execute(
                text(
                    "INSERT INTO bench_event (counter_id, n, note, created_at)"
                    " VALUES (:id, :n, :note, :now)"
                ),
                {
                    "id": COUNTER_ID,
                    "n": n + 1,
                    "note": note,
                    "now": datetime.now(UTC).replace(tzinfo=None),
                },
            )
        return jsonify(ok=True, n=n + 1), 201

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify(ok=True)

    return app


def _app_from_env() -> Flask | None:
    url = os.environ.get("DATABASE_URL", "")
    return create_ceiling_app(url) if url.startswith("mysql") else None


app = _app_from_env()
