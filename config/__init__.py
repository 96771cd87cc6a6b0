"""Settings read from the environment, with embedded defaults.

`load_settings(environ)` returns a flat dict of Flask config keys. Every variable is parsed
strictly; a bad value or a production setting given by halves raises `ConfigError` at start,
never later at the first request.

Embedded defaults (no environment): a SQLite file under `instance/`, jobs run inline, and the
gateway emulator stands in for WeChat and Alipay, with the documented development keys in
`config/dev_keys/`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEV_KEYS = Path(__file__).resolve().parent / "dev_keys"

# Development credentials used by the app *and* the emulator when no real ones are given.
# They are public (committed); production refuses to start with them.
DEV_WECHAT_APPID = "wx5f3e0c8a1d2b4c6e"
DEV_WECHAT_APPSECRET = "0123456789abcdef0123456789abcdef"
DEV_WECHAT_MCH_ID = "1900000109"
DEV_WECHAT_PAY_API_KEY = "wxdistEmulatorPayApiKey000000001"  # 32 chars, like a real v2 key
DEV_ALIPAY_APP_ID = "2021000000000001"
DEV_SECRET_KEY = "wxdist-development-secret-key-not-for-production"


class ConfigError(RuntimeError):
    """A setting is missing, malformed, or production settings are only half given."""


def _read_key_file(name: str) -> str:
    return (DEV_KEYS / name).read_text()


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _parse_int(name: str, raw: str, minimum: int | None = None) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _pem_or_path(name: str, raw: str) -> str:
    """A key given inline (PEM text) or as a path to a PEM file."""
    raw = raw.strip()
    if raw.startswith("-----BEGIN"):
        return raw.replace("\\n", "\n") + "\n"
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(f"{name} must be PEM text or the path of a PEM file; {raw!r} is neither")
    return path.read_text()


WECHAT_LIVE_KEYS = ("WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_MCH_ID", "WECHAT_PAY_API_KEY")
WECHAT_CERT_KEYS = ("WECHAT_PAY_CERT_PATH", "WECHAT_PAY_KEY_PATH")
ALIPAY_LIVE_KEYS = ("ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY")


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from `environ` (default: `os.environ`).

    Raises ConfigError for a malformed value, for production (`WXDIST_ENV=production`)
    without a database, secret key or real gateway credentials, and for gateway credentials
    given by halves.
    """
    env = dict(os.environ if environ is None else environ)

    def get(name: str, default: str = "") -> str:
        value = env.get(name)
        return default if value is None or value == "" else value

    def typed(name: str, default: Any, parse: Callable[[str, str], Any]) -> Any:
        raw = env.get(name)
        return default if raw is None or raw == "" else parse(name, raw)

    wxdist_env = get("WXDIST_ENV", "development")
    if wxdist_env not in ("development", "production", "test"):
        raise ConfigError(f"WXDIST_ENV must be development, production or test, got {wxdist_env!r}")
    production = wxdist_env == "production"

    gateway = get("GATEWAY", "emulator")
    if gateway not in ("emulator", "live"):
        raise ConfigError(f"GATEWAY must be 'emulator' or 'live', got {gateway!r}")

    given_alipay = [k for k in ALIPAY_LIVE_KEYS if get(k)]
    if gateway == "live" or production:
        if gateway != "live":
            raise ConfigError("WXDIST_ENV=production needs GATEWAY=live (the emulator is for dev)")
        missing = [k for k in WECHAT_LIVE_KEYS if not get(k)]
        if missing:
            raise ConfigError(f"GATEWAY=live needs {', '.join(missing)}")
        if given_alipay and len(given_alipay) != len(ALIPAY_LIVE_KEYS):
            missing = [k for k in ALIPAY_LIVE_KEYS if not get(k)]
            raise ConfigError(f"Alipay settings are half given: also set {', '.join(missing)}")
        certs = [k for k in WECHAT_CERT_KEYS if get(k)]
        if len(certs) == 1:
            raise ConfigError("WECHAT_PAY_CERT_PATH and WECHAT_PAY_KEY_PATH go together")
    if production:
        for name in ("DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL"):
            if not get(name):
                raise ConfigError(f"WXDIST_ENV=production needs {name}")
        if get("SECRET_KEY") == DEV_SECRET_KEY or len(get("SECRET_KEY")) < 32:
            raise ConfigError("SECRET_KEY must be a private value of at least 32 characters")

    instance = ROOT / "instance"
    database_url = get("DATABASE_URL", f"sqlite:///{instance / 'wxdist.db'}")
    if not database_url.startswith(("sqlite://", "mysql+pymysql://")):
        raise ConfigError("DATABASE_URL must be sqlite:///… or mysql+pymysql://…")
    redis_url = get("REDIS_URL")
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must be redis://…, got {redis_url!r}")

    port = typed("PORT", 5000, lambda n, r: _parse_int(n, r, 1))
    alipay_private = get("ALIPAY_APP_PRIVATE_KEY")
    alipay_public = get("ALIPAY_PUBLIC_KEY")
    return {
        "WXDIST_ENV": wxdist_env,
        "SECRET_KEY": get("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "REDIS_URL": redis_url or None,
        "PORT": port,
        "PUBLIC_BASE_URL": get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        "TOKEN_TTL_SECONDS": typed(
            "TOKEN_TTL_SECONDS", 7 * 86400, lambda n, r: _parse_int(n, r, 60)
        ),
        "ORDER_PAY_TIMEOUT_MIN": typed(
            "ORDER_PAY_TIMEOUT_MIN", 30, lambda n, r: _parse_int(n, r, 1)
        ),
        "GATEWAY": gateway,
        "EMULATOR_URL": get("EMULATOR_URL", "http://127.0.0.1:5055").rstrip("/"),
        "WECHAT_APPID": get("WECHAT_APPID", DEV_WECHAT_APPID),
        "WECHAT_APPSECRET": get("WECHAT_APPSECRET", DEV_WECHAT_APPSECRET),
        "WECHAT_MCH_ID": get("WECHAT_MCH_ID", DEV_WECHAT_MCH_ID),
        "WECHAT_PAY_API_KEY": get("WECHAT_PAY_API_KEY", DEV_WECHAT_PAY_API_KEY),
        "WECHAT_PAY_CERT_PATH": get("WECHAT_PAY_CERT_PATH") or None,
        "WECHAT_PAY_KEY_PATH": get("WECHAT_PAY_KEY_PATH") or None,
        "ALIPAY_ENABLED": gateway == "emulator" or bool(given_alipay),
        "ALIPAY_APP_ID": get("ALIPAY_APP_ID", DEV_ALIPAY_APP_ID),
        "ALIPAY_APP_PRIVATE_KEY": _pem_or_path("ALIPAY_APP_PRIVATE_KEY", alipay_private)
        if alipay_private
        else _read_key_file("alipay_app_private.pem"),
        "ALIPAY_PUBLIC_KEY": _pem_or_path("ALIPAY_PUBLIC_KEY", alipay_public)
        if alipay_public
        else _read_key_file("alipay_platform_public.pem"),
        # The key the emulator signs Alipay answers and notifies with: the private half of
        # ALIPAY_PUBLIC_KEY. Only the emulator reads it.
        "EMULATOR_ALIPAY_PRIVATE_KEY": _pem_or_path(
            "EMULATOR_ALIPAY_PRIVATE_KEY", get("EMULATOR_ALIPAY_PRIVATE_KEY")
        )
        if get("EMULATOR_ALIPAY_PRIVATE_KEY")
        else _read_key_file("alipay_platform_private.pem"),
        "GATEWAY_TIMEOUT_SECONDS": typed(
            "GATEWAY_TIMEOUT_SECONDS", 10, lambda n, r: _parse_int(n, r, 1)
        ),
        "INLINE_JOBS": not redis_url,
        "MAX_CONTENT_LENGTH": 1024 * 1024,  # no request body of ours comes near this
    }


def _engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # Wait for the writer lock instead of failing at once under concurrent requests.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_recycle": 1800, "pool_size": 10, "max_overflow": 20}
