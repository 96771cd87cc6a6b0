"""`flask demo` walks a purchase against a running instance and its emulator; `flask demo
--story` the whole distribution programme, after which `flask reconcile` is clean."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from PIL import Image
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.shop import make_product
from wxdist.cli.demo import DemoFailed, run_demo
from wxdist.cli.story import run_story
from wxdist.core.extensions import db
from wxdist.models.staff import AuditEntry


def test_demo_ends_with_the_order_paid(app: Flask, emulator: EmulatorServer, run_jobs) -> None:
    make_product(app, title="演示茶叶", price_fen=26800)
    for channel in ("wechat", "alipay"):
        lines: list[str] = []
        order_no = run_demo(app.config["LIVE_URL"], emulator.url, channel, echo=lines.append)
        assert len(order_no) == 24
        assert [line.split()[1] for line in lines] == [
            "login",
            "browse",
            "order",
            "pay",
            "notify",
            "paid",
        ]
        assert lines[-1].endswith(f"¥268.00 via {channel}")


def test_demo_says_what_is_wrong_when_nothing_runs(app: Flask) -> None:
    try:
        run_demo("http://127.0.0.1:9", "http://127.0.0.1:9", "wechat", echo=print)
    except DemoFailed as exc:
        assert "make run" in str(exc)
    else:
        raise AssertionError("demo passed without a server")


def test_story_walks_the_programme_and_leaves_the_books_clean(
    app: Flask, emulator: EmulatorServer, run_jobs, tmp_path: Path
) -> None:
    make_product(app, title="演示茶叶", price_fen=26800)
    runner = app.test_cli_runner()
    lines: list[str] = []
    with app.app_context():
        result = run_story(
            app.config["LIVE_URL"],
            emulator.url,
            tmp_path,
            echo=lines.append,
            wait_seconds=10,
            drain=run_jobs,
        )
    assert [line.split()[1] for line in lines] == [
        "settings",
        "apply",
        "review",
        "invite",
        "poster",
        "arrive",
        "order",
        "pay",
        "commission",
        "ship",
        "complete",
        "settle",
        "withdraw",
        "approve",
        "payout",
        "balance",
        "dashboard",
    ]
    # 10 % of ¥268.00 frozen, then available, then paid out to Alipay.
    assert "A sees ¥26.80 frozen" in lines[8]
    assert "A has ¥26.80 available" in lines[11]
    assert lines[14].endswith("paid") and "¥26.80" in lines[14]
    assert "available ¥0.00, frozen ¥0.00, withdrawing ¥0.00, earned ¥26.80" in lines[15]
    assert "sales ¥268.00 in 1 paid orders, 1 new distributors, commission ¥26.80" in lines[16]
    assert "0 withdrawals waiting" in lines[16]
    # The posters are real images, saved where the lines say.
    assert len(result.posters) == 2
    for path, line in zip(result.posters, lines[3:5], strict=True):
        assert str(path) in line
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert (image.format, image.size) == ("JPEG", (750, 1334))
    reconciled = runner.invoke(args=["reconcile"])
    assert reconciled.exit_code == 0, reconciled.output
    assert "reconcile: clean" in reconciled.output
    # The panel saw the staff steps in its audit log.
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["distributor.review", "order.ship", "withdrawal.approve"]


def test_story_command_runs_and_refuses_a_live_gateway(
    app: Flask, emulator: EmulatorServer, tmp_path: Path
) -> None:
    make_product(app, title="演示茶叶", price_fen=9900)
    runner = app.test_cli_runner()
    args = ["demo", "--story", "--base-url", app.config["LIVE_URL"]]
    args += ["--emulator-url", emulator.url, "--out-dir", str(tmp_path)]
    if not app.config["INLINE_JOBS"]:
        # Without a worker the queued attribution never runs: the story says so and exits 1.
        outcome = runner.invoke(args=[*args, "--wait", "1"])
        assert outcome.exit_code == 1
        assert "rq worker" in outcome.output
    else:
        outcome = runner.invoke(args=args)
        assert outcome.exit_code == 0, outcome.output
        assert outcome.output.splitlines()[-1].split()[1] == "dashboard"
    app.config["GATEWAY"] = "live"
    try:
        refused = runner.invoke(args=args)
    finally:
        app.config["GATEWAY"] = "emulator"
    assert refused.exit_code == 1
    assert "gateway emulator" in refused.output
