"""Settings: embedded defaults, strict parsing, fail-fast production checks."""

from __future__ import annotations

import pytest

from config import ConfigError, load_settings

LIVE_WECHAT = {
    "GATEWAY": "live",
    "WECHAT_APPID": "wx1111111111111111",
    "WECHAT_APPSECRET": "s" * 32,
    "WECHAT_MCH_ID": "1230000109",
    "WECHAT_PAY_API_KEY": "k" * 32,
}


def test_embedded_defaults_use_sqlite_inline_jobs_and_the_emulator() -> None:
    settings = load_settings({})
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert settings["SQLALCHEMY_DATABASE_URI"].endswith("instance/wxdist.db")
    assert settings["INLINE_JOBS"] is True
    assert settings["GATEWAY"] == "emulator"
    assert settings["ORDER_PAY_TIMEOUT_MIN"] == 30
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert "BEGIN RSA PRIVATE KEY" in settings["ALIPAY_APP_PRIVATE_KEY"]


def test_port_and_redis_change_what_they_should() -> None:
    settings = load_settings({"PORT": "8080", "REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:8080"
    assert settings["INLINE_JOBS"] is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ORDER_PAY_TIMEOUT_MIN": "soon"}, "ORDER_PAY_TIMEOUT_MIN must be an integer"),
        ({"ORDER_PAY_TIMEOUT_MIN": "0"}, "at least 1"),
        ({"GATEWAY": "sandbox"}, "GATEWAY must be"),
        ({"DATABASE_URL": "postgres://x"}, "DATABASE_URL must be"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be"),
        ({"WXDIST_ENV": "prod"}, "WXDIST_ENV must be"),
        ({"GATEWAY": "live"}, "GATEWAY=live needs WECHAT_APPID"),
        ({**LIVE_WECHAT, "WECHAT_MCH_ID": ""}, "needs WECHAT_MCH_ID"),
        ({**LIVE_WECHAT, "ALIPAY_APP_ID": "2021"}, "Alipay settings are half given"),
        ({**LIVE_WECHAT, "WECHAT_PAY_CERT_PATH": "/x.pem"}, "go together"),
        ({"WXDIST_ENV": "production"}, "needs GATEWAY=live"),
        ({"WXDIST_ENV": "production", **LIVE_WECHAT}, "needs DATABASE_URL"),
        (
            {
                "WXDIST_ENV": "production",
                **LIVE_WECHAT,
                "DATABASE_URL": "mysql+pymysql://u@db/shop",
                "PUBLIC_BASE_URL": "https://shop.example",
                "SECRET_KEY": "short",
            },
            "SECRET_KEY must be",
        ),
        ({"ALIPAY_APP_PRIVATE_KEY": "/no/such/file.pem"}, "PEM"),
        ({"WECHAT_MESSAGE_AES_KEY": "short"}, "43 characters"),
        ({"WECHAT_MESSAGE_AES_KEY": "!" * 43}, "base64"),
        ({"WECHAT_MESSAGE_TOKEN": "has space"}, "WECHAT_MESSAGE_TOKEN"),
        ({"SUBSCRIBE_MINIPROGRAM_STATE": "release"}, "developer, trial or formal"),
        ({"SUBSCRIBE_TEMPLATE_ORDER_SHIPPED": "has space"}, "SUBSCRIBE_TEMPLATE_ORDER_SHIPPED"),
        (
            {
                "WXDIST_ENV": "production",
                **LIVE_WECHAT,
                "DATABASE_URL": "mysql+pymysql://u@db/shop",
                "PUBLIC_BASE_URL": "https://shop.example",
                "SECRET_KEY": "x" * 40,
            },
            "needs WECHAT_MESSAGE_TOKEN and WECHAT_MESSAGE_AES_KEY",
        ),
        (
            {
                "SUBSCRIBE_TEMPLATE_ORDER_SHIPPED": "tmplSame",
                "SUBSCRIBE_TEMPLATE_AFTERSALE_RESULT": "tmplSame",
            },
            "different template",
        ),
    ],
)
def test_bad_or_half_given_settings_fail_at_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_complete_production_settings_load() -> None:
    settings = load_settings(
        {
            "WXDIST_ENV": "production",
            **LIVE_WECHAT,
            "DATABASE_URL": "mysql+pymysql://u@db/shop",
            "PUBLIC_BASE_URL": "https://shop.example/",
            "SECRET_KEY": "x" * 40,
            "WECHAT_MESSAGE_TOKEN": "shopMessageToken1",
            "WECHAT_MESSAGE_AES_KEY": "A" * 43,
        }
    )
    assert settings["GATEWAY"] == "live"
    assert settings["SUBSCRIBE_MINIPROGRAM_STATE"] == "formal"
    assert settings["ALIPAY_ENABLED"] is False  # no Alipay keys given: channel off
    assert settings["PUBLIC_BASE_URL"] == "https://shop.example"
