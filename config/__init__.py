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

from config.messages import MessageConfigError, message_settings

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

# --- WeChat Pay v3 merchant transfers (商家转账, payments/wechat_transfer_v3.py) -----------
# Development defaults: key pairs in config/dev_keys/wechatpay_v3_*.pem, and these values.
DEV_WECHAT_PAY_V3_CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
DEV_WECHAT_PAY_V3_APIV3_KEY = "wxdistEmulatorApiV3Key0000000001"  # 32 chars, like a real key
DEV_WECHAT_PAY_V3_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025010100000001"
WECHAT_PAY_V3_LIVE_KEYS = (
    "WECHAT_PAY_V3_PRIVATE_KEY",
    "WECHAT_PAY_V3_CERT_SERIAL",
    "WECHAT_PAY_V3_APIV3_KEY",
    "WECHAT_PAY_V3_PUBLIC_KEY",
    "WECHAT_PAY_V3_PUBLIC_KEY_ID",
)


def _rsa_key(name: str, pem: str, private: bool) -> Any:
    """Load an RSA key (any PEM encoding) or raise ConfigError."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key: Any = (
            serialization.load_pem_private_key(pem.encode(), password=None)
            if private
            else serialization.load_pem_public_key(pem.encode())
        )
    except (ValueError, TypeError):
        kind = "private" if private else "public"
        raise ConfigError(f"{name} is not a readable PEM RSA {kind} key") from None
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        raise ConfigError(f"{name} must be an RSA key")
    return key


def _wechat_pay_v3_settings(get: Callable[..., str], live: bool) -> dict[str, Any]:
    """The v3 settings. Live: all of WECHAT_PAY_V3_LIVE_KEYS or none (then the channel is
    off); emulator: each defaults to the development value, and the emulator's platform key
    must be the private half of WECHAT_PAY_V3_PUBLIC_KEY."""
    given = [k for k in WECHAT_PAY_V3_LIVE_KEYS if get(k)]
    if live and given and len(given) != len(WECHAT_PAY_V3_LIVE_KEYS):
        missing = [k for k in WECHAT_PAY_V3_LIVE_KEYS if not get(k)]
        raise ConfigError(f"WeChat Pay v3 settings are half given: also set {', '.join(missing)}")

    def pem(name: str, dev_file: str) -> str:
        raw = get(name)
        return _pem_or_path(name, raw) if raw else _read_key_file(dev_file)

    private = pem("WECHAT_PAY_V3_PRIVATE_KEY", "wechatpay_v3_merchant_private.pem")
    public = pem("WECHAT_PAY_V3_PUBLIC_KEY", "wechatpay_v3_platform_public.pem")
    platform_private = pem(
        "EMULATOR_WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY", "wechatpay_v3_platform_private.pem"
    )
    _rsa_key("WECHAT_PAY_V3_PRIVATE_KEY", private, private=True)
    public_key = _rsa_key("WECHAT_PAY_V3_PUBLIC_KEY", public, private=False)
    if not live:
        platform_key = _rsa_key(
            "EMULATOR_WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY", platform_private, private=True
        )
        if platform_key.public_key().public_numbers() != public_key.public_numbers():
            raise ConfigError(
                "EMULATOR_WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY is not the private half of "
                "WECHAT_PAY_V3_PUBLIC_KEY"
            )
    serial = get("WECHAT_PAY_V3_CERT_SERIAL", DEV_WECHAT_PAY_V3_CERT_SERIAL).strip().upper()
    if not serial or len(serial) > 64 or any(c not in "0123456789ABCDEF" for c in serial):
        raise ConfigError(f"WECHAT_PAY_V3_CERT_SERIAL must be a hex serial number, got {serial!r}")
    apiv3_key = get("WECHAT_PAY_V3_APIV3_KEY", DEV_WECHAT_PAY_V3_APIV3_KEY)
    if len(apiv3_key.encode()) != 32:
        raise ConfigError("WECHAT_PAY_V3_APIV3_KEY must be 32 bytes (the APIv3 key)")
    public_key_id = get("WECHAT_PAY_V3_PUBLIC_KEY_ID", DEV_WECHAT_PAY_V3_PUBLIC_KEY_ID).strip()
    if not public_key_id.startswith("PUB_KEY_ID_"):
        raise ConfigError(
            f"WECHAT_PAY_V3_PUBLIC_KEY_ID must be PUB_KEY_ID_…, got {public_key_id!r}"
        )
    return {
        "WECHAT_PAY_V3_ENABLED": not live or bool(given),
        "WECHAT_PAY_V3_PRIVATE_KEY": private,
        "WECHAT_PAY_V3_CERT_SERIAL": serial,
        "WECHAT_PAY_V3_APIV3_KEY": apiv3_key,
        "WECHAT_PAY_V3_PUBLIC_KEY": public,
        "WECHAT_PAY_V3_PUBLIC_KEY_ID": public_key_id,
        # Signs the emulator's v3 answers and notifies; only the emulator reads it.
        "EMULATOR_WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY": platform_private,
    }


# --- end of WeChat Pay v3 --------------------------------------------------------------------


def _check_live_credentials(get: Callable[..., str], gateway: str, given_alipay: list[str]) -> None:
    """Raises ConfigError unless the gateway is live with every WeChat key, and the Alipay
    keys and the WeChat certificate pair are given whole or not at all."""
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


def _check_production_secrets(get: Callable[..., str]) -> None:
    """Raises ConfigError unless the database, public URL and a private secret key are set."""
    for name in ("DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL"):
        if not get(name):
            raise ConfigError(f"WXDIST_ENV=production needs {name}")
    if get("SECRET_KEY") == DEV_SECRET_KEY or len(get("SECRET_KEY")) < 32:
        raise ConfigError("SECRET_KEY must be a private value of at least 32 characters")


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
        _check_live_credentials(get, gateway, given_alipay)
    if production:
        _check_production_secrets(get)

    instance = ROOT / "instance"
    database_url = get("DATABASE_URL", f"sqlite:///{instance / 'wxdist.db'}")
    if not database_url.startswith(("sqlite://", "mysql+pymysql://")):
        raise ConfigError("DATABASE_URL must be sqlite:///… or mysql+pymysql://…")
    redis_url = get("REDIS_URL")
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must be redis://…, got {redis_url!r}")

    port = typed("PORT", 5000, lambda n, r: _parse_int(n, r, 1))
    public_base_url = get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/")
    env_version = get("MINIPROGRAM_ENV_VERSION", "release")
    if env_version not in ("release", "trial", "develop"):
        raise ConfigError(
            f"MINIPROGRAM_ENV_VERSION must be release, trial or develop, got {env_version!r}"
        )
    page = get("MINIPROGRAM_PAGE", "pages/index/index")
    if page.startswith("/") or "?" in page:
        raise ConfigError(f"MINIPROGRAM_PAGE must be a page path like pages/index/index: {page!r}")
    alipay_private = get("ALIPAY_APP_PRIVATE_KEY")
    alipay_public = get("ALIPAY_PUBLIC_KEY")
    try:
        messages = message_settings(get, env_version, production)
    except MessageConfigError as exc:
        raise ConfigError(str(exc)) from None
    return {
        "WXDIST_ENV": wxdist_env,
        "SECRET_KEY": get("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "REDIS_URL": redis_url or None,
        "PORT": port,
        "PUBLIC_BASE_URL": public_base_url,
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
        # Sharing: mini-program codes, H5 links and posters (wxdist/sharing/).
        "MEDIA_DIR": get("MEDIA_DIR", str(instance / "media")),
        # Empty: MEDIA_DIR; else an S3 API bucket (config/media_storage.py), checked here.
        "MEDIA_STORAGE_URL": _media_storage_url(get("MEDIA_STORAGE_URL")),
        "MINIPROGRAM_PAGE": page,
        "MINIPROGRAM_ENV_VERSION": env_version,
        "H5_BASE_URL": get("H5_BASE_URL", f"{public_base_url}/h5").rstrip("/"),
        "MEDIA_FETCH_REMOTE": typed("MEDIA_FETCH_REMOTE", gateway == "live", _parse_bool),
        "POSTER_PREDRAW": typed("POSTER_PREDRAW", bool(redis_url), _parse_bool),
        "POSTER_RECHECK_SECONDS": typed(
            "POSTER_RECHECK_SECONDS", 2, lambda n, r: _parse_int(n, r, 0)
        ),
        # How long a process prices with the promotions it last read (wxdist/marketing/).
        "OFFERS_RECHECK_SECONDS": typed(
            "OFFERS_RECHECK_SECONDS", 2, lambda n, r: _parse_int(n, r, 0)
        ),
        # Encrypts payout account details at rest; falls back to SECRET_KEY when unset.
        "DATA_ENCRYPTION_KEY": get("DATA_ENCRYPTION_KEY") or None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,  # no request body of ours comes near this
        # Merchant panel (/panel): failed sign-ins allowed per (address, username) and per
        # username from all addresses...
        "PANEL_LOGIN_LIMIT": _rate_limit(
            "PANEL_LOGIN_LIMIT", get("PANEL_LOGIN_LIMIT", "10/10minute")
        ),
        # ... and per address, whatever the usernames (wxdist/panel/auth_views.py).
        "PANEL_LOGIN_ADDRESS_LIMIT": _rate_limit(
            "PANEL_LOGIN_ADDRESS_LIMIT", get("PANEL_LOGIN_ADDRESS_LIMIT", "30/10minute")
        ),
        # After-sales (wxdist/shop/aftersales/): days after completion an application is
        # taken, days the merchant has to answer (then agreed), days to ship a return back
        # (then closed).
        "AFTERSALE_WINDOW_DAYS": typed(
            "AFTERSALE_WINDOW_DAYS", 7, lambda n, r: _parse_int(n, r, 0)
        ),
        "AFTERSALE_AGREE_DAYS": typed("AFTERSALE_AGREE_DAYS", 3, lambda n, r: _parse_int(n, r, 1)),
        "AFTERSALE_SHIPBACK_DAYS": typed(
            "AFTERSALE_SHIPBACK_DAYS", 7, lambda n, r: _parse_int(n, r, 1)
        ),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": public_base_url.startswith("https://"),
        **_wechat_pay_v3_settings(get, live=gateway == "live"),
        # WeChat's message push and subscribe messages (config/messages.py).
        **messages,
        **_fulfilment_settings(get, typed, gateway),
    }


DEV_KUAIDI100_CUSTOMER = "WXDISTEMULATORCUSTOMER"
DEV_KUAIDI100_KEY = "wxdistEmulatorKuaidi100Key"


def _fulfilment_settings(
    get: Callable[..., str], typed: Callable[..., Any], gateway: str
) -> dict[str, Any]:
    """Shipping information upload and parcel tracking (wxdist/shop/shipping_info.py,
    wxdist/shop/tracking.py). Tracking is on with the emulator, or live once KUAIDI100_KEY
    is given; TRACKING_PROVIDER=none turns it off."""
    live = gateway == "live"
    provider = get("TRACKING_PROVIDER", "kuaidi100" if not live or get("KUAIDI100_KEY") else "none")
    if provider not in ("kuaidi100", "none"):
        raise ConfigError(f"TRACKING_PROVIDER must be kuaidi100 or none, got {provider!r}")
    if (
        live
        and provider == "kuaidi100"
        and not (get("KUAIDI100_KEY") and get("KUAIDI100_CUSTOMER"))
    ):
        raise ConfigError("TRACKING_PROVIDER=kuaidi100 needs KUAIDI100_KEY and KUAIDI100_CUSTOMER")
    return {
        "SHIPPING_CARRIERS_TTL_SECONDS": typed(
            "SHIPPING_CARRIERS_TTL_SECONDS", 86400, lambda n, r: _parse_int(n, r, 60)
        ),
        "SHIPPING_UPLOAD_MAX_ATTEMPTS": typed(
            "SHIPPING_UPLOAD_MAX_ATTEMPTS", 20, lambda n, r: _parse_int(n, r, 1)
        ),
        # Outbound webhooks (wxdist/integrations/delivery.py): an attempt's time limit, and
        # how long a worker holds a batch before another may take it (a lost worker's).
        "WEBHOOK_TIMEOUT_SECONDS": typed(
            "WEBHOOK_TIMEOUT_SECONDS", 15, lambda n, r: _parse_int(n, r, 1)
        ),
        "WEBHOOK_LEASE_SECONDS": typed(
            "WEBHOOK_LEASE_SECONDS", 90, lambda n, r: _parse_int(n, r, 1)
        ),
        "TRACKING_PROVIDER": provider,
        # Empty: Kuaidi100's own (live) or the emulator's EMULATOR_URL/kuaidi100.
        "KUAIDI100_URL": get("KUAIDI100_URL").rstrip("/"),
        "KUAIDI100_CUSTOMER": get("KUAIDI100_CUSTOMER", "" if live else DEV_KUAIDI100_CUSTOMER),
        "KUAIDI100_KEY": get("KUAIDI100_KEY", "" if live else DEV_KUAIDI100_KEY),
        # The callback's sign is MD5(param + salt): a secret of ours, sent when subscribing.
        "KUAIDI100_SALT": get("KUAIDI100_SALT") or get("SECRET_KEY", DEV_SECRET_KEY)[:32],
    }


def _media_storage_url(raw: str) -> str:
    """`raw` stripped, once it parses; raises ConfigError (naming the variable) otherwise."""
    from config.media_storage import MediaStorageUrlError, parse_media_storage_url

    try:
        parse_media_storage_url(raw)
    except MediaStorageUrlError as exc:
        raise ConfigError(str(exc)) from None
    return raw.strip()


def _rate_limit(name: str, raw: str) -> str:
    """A rate such as '10/10minute' or '10 per 10 minutes'; raises ConfigError otherwise."""
    from limits import parse

    try:
        parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a rate like 10/10minute, got {raw!r}") from exc
    return raw


def _engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # Wait for the writer lock instead of failing at once under concurrent requests.
        return {"connect_args": {"timeout": 30}}
    # No pre-ping (a round trip per checkout); connections are recycled well inside
    # MySQL's wait_timeout instead.
    options: dict[str, Any] = {"pool_recycle": 1800, "pool_size": 10, "max_overflow": 20}
    if _loopback_without_tls_options(database_url):
        # PyMySQL's default ("preferred" TLS) builds an SSL context per connection, loading
        # the system CA store: ~20 ms of CPU each, paid by every job a forking RQ worker
        # runs. Over loopback TLS protects nothing; elsewhere, and whenever the URL names
        # ssl_* options, the driver's behaviour is kept.
        options["connect_args"] = {"ssl_disabled": True}
    return options


LOOPBACK_HOSTS = ("", "localhost", "127.0.0.1", "::1")


def _loopback_without_tls_options(database_url: str) -> bool:
    from sqlalchemy import make_url

    url = make_url(database_url)
    if not url.drivername.startswith("mysql+pymysql"):
        return False
    if any(key.startswith("ssl") for key in url.query):
        return False
    return (url.host or "") in LOOPBACK_HOSTS or "unix_socket" in url.query
