"""Jinja filters and globals of the panel: money, local time, navigation."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_datetime, format_skeleton
from flask import Flask, current_app
from flask_babel import get_locale

from wxdist.core.clock import to_local
from wxdist.panel.labels import label, method_label


def fen(amount: int | None) -> str:
    """12345 → '¥123.45' (negative amounts keep their sign)."""
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else ""
    yuan, cents = divmod(abs(int(amount)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


# Date-time patterns (CLDR) per language, to the minute and to the second.
TIME_PATTERNS = {
    "zh": ("y年M月d日 HH:mm", "y年M月d日 HH:mm:ss"),
    "en": ("MMM d, y HH:mm", "MMM d, y HH:mm:ss"),
}


def local_time(moment: datetime | None, seconds: bool = False) -> str:
    """A stored naive-UTC time in the merchant's zone (Asia/Shanghai), written the reader's
    way: '2026年12月2日 22:54' in zh_CN, 'Dec 2, 2026 22:54' in en."""
    if moment is None:
        return ""
    locale = get_locale()
    patterns = TIME_PATTERNS.get(locale.language, TIME_PATTERNS["zh"])
    return format_datetime(to_local(moment), patterns[seconds], locale=locale)


def short_day(day: date) -> str:
    """A day without its year, the reader's way: '12月3日' in zh_CN, 'Dec 3' in en."""
    return format_skeleton("MMMd", day, locale=get_locale())


def csv_time(moment: datetime | None) -> str:
    """A stored naive-UTC time as Shanghai 'YYYY-MM-DD HH:MM:SS' for CSV cells (spreadsheets
    read it as a date in any language)."""
    return to_local(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def page_lang() -> str:
    """The `lang` of the page: 'zh-CN' or 'en' (fonts and screen readers follow it)."""
    return "en" if str(get_locale()) == "en" else "zh-CN"


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def register(app: Flask) -> None:
    from wxdist.panel.access import NAV, can

    app.jinja_env.filters["fen"] = fen
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["method_label"] = method_label
    app.jinja_env.globals["page_lang"] = page_lang
    app.jinja_env.globals["panel_nav"] = NAV
    app.jinja_env.globals["panel_can"] = can
    app.jinja_env.globals["has_endpoint"] = has_endpoint
