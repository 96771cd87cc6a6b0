"""Jinja filters and globals of the panel: money, local time, navigation."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

from wxdist.core.clock import to_local


def fen(amount: int | None) -> str:
    """12345 → '¥123.45' (negative amounts keep their sign)."""
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else ""
    yuan, cents = divmod(abs(int(amount)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored naive-UTC time shown in the merchant's zone (Asia/Shanghai)."""
    if moment is None:
        return ""
    return to_local(moment).strftime(fmt)


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def register(app: Flask) -> None:
    from wxdist.panel.access import NAV, can

    app.jinja_env.filters["fen"] = fen
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["panel_nav"] = NAV
    app.jinja_env.globals["panel_can"] = can
    app.jinja_env.globals["has_endpoint"] = has_endpoint
