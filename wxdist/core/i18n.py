"""The languages people read: zh_CN first, en beside it (Flask-Babel).

A request's language is, in order: the preference a surface put in `g.locale_preference`
(the panel puts the signed-in staff member's there), the best of `Accept-Language`, else
zh_CN. Source strings are English and marked with `gettext` / `lazy_gettext`; catalogues
live in `wxdist/translations/<locale>/LC_MESSAGES/messages.po` and `make` compiles them.
Babel knows zh_CN by its full CLDR name, zh_Hans_CN (Simplified Chinese, China), which is
the name of the Chinese catalogue's directory; settings and staff accounts say zh_CN.
Outside a request (jobs, the CLI) the language is zh_CN.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_babel import Babel

DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
TIMEZONE = "Asia/Shanghai"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

babel = Babel()


def normalize_locale(value: str | None) -> str | None:
    """'zh-CN', 'zh_cn', 'zh', 'zh-Hans' → 'zh_CN'; 'en-US', 'en' → 'en'; else None."""
    if not value:
        return None
    primary = value.strip().replace("-", "_").split("_")[0].lower()
    return {"zh": "zh_CN", "en": "en"}.get(primary)


def select_locale() -> str:
    """The language of the current request (see the module docstring)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    preferred = normalize_locale(g.get("locale_preference"))
    if preferred:
        return preferred
    for value, quality in request.accept_languages:
        chosen = normalize_locale(value) if quality > 0 else None
        if chosen:
            return chosen
    return DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: TIMEZONE)
