"""`flask demo` walks a purchase against a running instance and its emulator."""

from __future__ import annotations

from flask import Flask

from payments.emulator import EmulatorServer
from tests.shop import make_product
from wxdist.cli.demo import DemoFailed, run_demo


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
