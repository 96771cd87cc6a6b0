"""Gateway adapters for the current app, built once per app from its settings.

The WeChat access token is cached in memory by default and in Redis when `REDIS_URL` is
set, so every web process and worker shares one token (each process keeps its own while
Redis is unreachable).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from payments.alipay import AlipayGateway
    from payments.alipay_transfer import AlipayTransferGateway
    from payments.kuaidi100 import Kuaidi100Client
    from payments.wechat_mp import MiniProgramClient
    from payments.wechat_pay import WeChatPayV2
    from payments.wechat_transfer_v2 import WeChatTransferV2
    from payments.wechat_transfer_v3 import WeChatTransferV3

_lock = threading.Lock()


class Gateways:
    """Lazily built adapters; thread-safe."""

    def __init__(self, app: Flask) -> None:
        self._config = app.config
        self._cache: dict[str, Any] = {}

    def _get(self, name: str, build):  # type: ignore[no-untyped-def]
        adapter = self._cache.get(name)
        if adapter is None:
            with _lock:
                adapter = self._cache.get(name)
                if adapter is None:
                    adapter = self._cache[name] = build()
        return adapter

    @property
    def miniprogram(self) -> MiniProgramClient:
        from payments.wechat_mp import MiniProgramClient

        return self._get(
            "miniprogram", lambda: MiniProgramClient(self._config, token_storage(self._config))
        )

    @property
    def kuaidi100(self) -> Kuaidi100Client:
        from payments.kuaidi100 import LIVE_BASE_URL, Kuaidi100Client

        c = self._config
        url = c["KUAIDI100_URL"] or (
            c["EMULATOR_URL"] + "/kuaidi100" if c["GATEWAY"] == "emulator" else LIVE_BASE_URL
        )
        return self._get(
            "kuaidi100",
            lambda: Kuaidi100Client(
                url,
                c["KUAIDI100_CUSTOMER"],
                c["KUAIDI100_KEY"],
                c["KUAIDI100_SALT"],
                float(c["GATEWAY_TIMEOUT_SECONDS"]),
            ),
        )

    @property
    def wechat_pay(self) -> WeChatPayV2:
        from payments.wechat_pay import WeChatPayV2

        return self._get("wechat_pay", lambda: WeChatPayV2(self._config))

    @property
    def alipay(self) -> AlipayGateway:
        from payments.alipay import AlipayGateway

        return self._get("alipay", lambda: AlipayGateway(self._config))

    @property
    def wechat_transfer_v2(self) -> WeChatTransferV2:
        from payments.wechat_transfer_v2 import WeChatTransferV2

        return self._get("wechat_transfer_v2", lambda: WeChatTransferV2(self._config))

    @property
    def wechat_transfer_v3(self) -> WeChatTransferV3:
        from payments.wechat_transfer_v3 import WeChatTransferV3

        return self._get("wechat_transfer_v3", lambda: WeChatTransferV3(self._config))

    @property
    def alipay_transfer(self) -> AlipayTransferGateway:
        from payments.alipay_transfer import AlipayTransferGateway

        return self._get("alipay_transfer", lambda: AlipayTransferGateway(self._config))


def token_storage(config: Any):  # type: ignore[no-untyped-def]
    """wechatpy session storage: Redis when configured (shared), with this process's memory
    as the fallback while Redis is unreachable (policy: `wxdist.core.redis_conn`); else memory."""
    from wechatpy.session.memorystorage import MemoryStorage

    if config.get("REDIS_URL"):
        from wechatpy.session.redisstorage import RedisStorage

        from payments.wechat_mp import FallbackStorage
        from wxdist.core.redis_conn import UNAVAILABLE, redis_client

        shared = RedisStorage(redis_client(config["REDIS_URL"]), prefix="wxdist:wechat")
        return FallbackStorage(shared, MemoryStorage(), UNAVAILABLE)
    return MemoryStorage()


def init_app(app: Flask) -> None:
    app.extensions["wxdist_gateways"] = Gateways(app)


def gateways() -> Gateways:
    return current_app.extensions["wxdist_gateways"]
