"""The credentials the emulator shares with the app (read from the same settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmulatorSettings:
    """What the emulator needs to verify requests and sign answers."""

    wechat_appid: str
    wechat_appsecret: str
    wechat_mch_id: str
    wechat_pay_api_key: str
    alipay_app_id: str
    alipay_app_private_key: str  # the emulator derives the app's public key from it
    alipay_platform_private_key: str  # signs Alipay answers and notifies
    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port
    # WeChat Pay v3 merchant transfers (payments/emulator/wechat_v3/).
    wechat_pay_v3_merchant_private_key: str = ""  # the merchant's public key is derived from it
    wechat_pay_v3_cert_serial: str = ""  # the merchant certificate serial it must present
    wechat_pay_v3_apiv3_key: str = ""  # encrypts notifies
    wechat_pay_v3_platform_private_key: str = ""  # signs v3 answers and notifies
    wechat_pay_v3_public_key_id: str = ""  # sent as Wechatpay-Serial
    # WeChat's message push (消息推送) and subscribe messages (payments/emulator/wechat/
    # subscribe.py): the token and EncodingAESKey it signs and encrypts pushes with, and
    # the template ids it knows.
    wechat_message_token: str = ""
    wechat_message_aes_key: str = ""
    subscribe_templates: tuple[str, ...] = ()
    # Kuaidi100 tracking (payments/emulator/kuaidi100.py).
    kuaidi100_customer: str = "WXDISTEMULATORCUSTOMER"
    kuaidi100_key: str = "wxdistEmulatorKuaidi100Key"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], port: int | None = None) -> EmulatorSettings:
        """Read the shared keys from a Flask config (see `config.load_settings`)."""
        from urllib.parse import urlsplit

        url = urlsplit(config["EMULATOR_URL"])
        return cls(
            wechat_appid=config["WECHAT_APPID"],
            wechat_appsecret=config["WECHAT_APPSECRET"],
            wechat_mch_id=config["WECHAT_MCH_ID"],
            wechat_pay_api_key=config["WECHAT_PAY_API_KEY"],
            alipay_app_id=config["ALIPAY_APP_ID"],
            alipay_app_private_key=config["ALIPAY_APP_PRIVATE_KEY"],
            alipay_platform_private_key=config["EMULATOR_ALIPAY_PRIVATE_KEY"],
            host=url.hostname or "127.0.0.1",
            port=url.port or 80 if port is None else port,
            wechat_pay_v3_merchant_private_key=config.get("WECHAT_PAY_V3_PRIVATE_KEY") or "",
            wechat_pay_v3_cert_serial=config.get("WECHAT_PAY_V3_CERT_SERIAL") or "",
            wechat_pay_v3_apiv3_key=config.get("WECHAT_PAY_V3_APIV3_KEY") or "",
            wechat_pay_v3_platform_private_key=config.get(
                "EMULATOR_WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY"
            )
            or "",
            wechat_pay_v3_public_key_id=config.get("WECHAT_PAY_V3_PUBLIC_KEY_ID") or "",
            wechat_message_token=config.get("WECHAT_MESSAGE_TOKEN") or "",
            wechat_message_aes_key=config.get("WECHAT_MESSAGE_AES_KEY") or "",
            subscribe_templates=tuple((config.get("SUBSCRIBE_TEMPLATES") or {}).values()),
            kuaidi100_customer=config.get("KUAIDI100_CUSTOMER") or cls.kuaidi100_customer,
            kuaidi100_key=config.get("KUAIDI100_KEY") or cls.kuaidi100_key,
        )
