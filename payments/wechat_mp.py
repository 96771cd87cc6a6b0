"""Mini-program server API (login code exchange, unlimited mini-program codes) via wechatpy.

`MiniProgramClient` wraps `wechatpy.WeChatClient`; in emulator mode every base URL points at
the emulator. Failures surface as `payments.errors`: a WeChat `errcode` is a
`GatewayRejected` (code = the errcode as text), a timeout, broken connection, HTTP error or
an answer of the wrong shape is a `GatewayUnavailable`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from payments.errors import GatewayRejected, GatewayUnavailable

log = logging.getLogger(__name__)

LIVE_BASE_URL = "https://api.weixin.qq.com"
# invalid credential, invalid access_token, expired access_token
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

T = TypeVar("T")


@dataclass(frozen=True)
class LoginSession:
    """The result of `jscode2session`. `session_key` is a secret: never log it."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


class FallbackStorage(SessionStorage):  # type: ignore[misc]
    """Token storage that survives its shared store going away: reads and writes `primary`
    (shared by every process, e.g. wechatpy's RedisStorage) and keeps a copy in `fallback`
    (this process's memory). When `primary` raises one of `unavailable`, reads come from
    the copy and writes go only there: this process keeps working with its own token (a
    missing one is fetched) until the shared store answers again.
    """

    def __init__(
        self,
        primary: SessionStorage,
        fallback: SessionStorage,
        unavailable: tuple[type[Exception], ...],
    ) -> None:
        self.primary, self.fallback, self.unavailable = primary, fallback, unavailable

    def get(self, key: str, default: Any = None) -> Any:
        try:
            value = self.primary.get(key, default)
        except self.unavailable as exc:
            log.warning("token storage unreachable (%s): using this process's copy", exc)
            return self.fallback.get(key, default)
        if value is not default:
            self.fallback.set(key, value)
        return value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        self.fallback.set(key, value, ttl)
        try:
            self.primary.set(key, value, ttl)
        except self.unavailable as exc:
            log.warning("token storage unreachable (%s): token kept in this process", exc)

    def delete(self, key: str) -> None:
        self.fallback.delete(key)
        try:
            self.primary.delete(key)
        except self.unavailable as exc:
            log.warning("token storage unreachable (%s): deleted in this process only", exc)


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with configurable base URLs and a token fetch that honours the
    timeout. `auto_retry` is off: `MiniProgramClient` retries a token error exactly once."""

    def __init__(
        self,
        appid: str,
        secret: str,
        base_url: str,
        session: SessionStorage,
        timeout: float,
    ) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        root = base_url.rstrip("/") + "/"
        # Instance attributes shadow wechatpy's hard-coded class-level URLs.
        self.API_BASE_URL = root + "cgi-bin/"
        self.wxa.API_BASE_URL = root
        self.token_url = root + "cgi-bin/token"

    def fetch_access_token(self) -> dict[str, Any]:
        """Fetch a new token into the session storage; raises WeChatClientException (errcode
        None for an HTTP error) or a requests exception."""
        log.info("fetching WeChat access token for %s", self.appid)
        res = self._http.get(
            self.token_url,
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        try:
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(
                None, None, client=self, request=exc.request, response=exc.response
            ) from exc
        result = res.json()
        if not isinstance(result, dict):
            raise WeChatClientException(None, "token answer is not an object", client=self)
        if result.get("errcode"):
            raise WeChatClientException(
                int(result["errcode"]), result.get("errmsg", ""), client=self, response=res
            )
        token = result.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatClientException(None, "token answer has no access_token", client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, token, expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result


class MiniProgramClient:
    """The mini-program's server-side API.

    `config` is the Flask config (WECHAT_APPID, WECHAT_APPSECRET, GATEWAY, EMULATOR_URL,
    GATEWAY_TIMEOUT_SECONDS); `session` stores the access token (wechatpy MemoryStorage in
    one process; to share it between processes, RedisStorage inside a FallbackStorage so
    that a Redis outage does not stop logins).
    """

    def __init__(self, config: Mapping[str, Any], session: SessionStorage) -> None:
        base_url = config["EMULATOR_URL"] if config["GATEWAY"] == "emulator" else LIVE_BASE_URL
        self._client = _Client(
            appid=config["WECHAT_APPID"],
            secret=config["WECHAT_APPSECRET"],
            base_url=base_url,
            session=session,
            timeout=float(config["GATEWAY_TIMEOUT_SECONDS"]),
        )

    def code_to_session(self, code: str) -> LoginSession:
        """Exchange a `wx.login()` code. Raises GatewayRejected (e.g. code "40029" for an
        invalid code) or GatewayUnavailable."""
        result = self._call(lambda: self._client.wxa.code_to_session(code))
        if not isinstance(result, dict):
            raise GatewayUnavailable("jscode2session answer is not JSON")
        openid, session_key = result.get("openid"), result.get("session_key")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
            raise GatewayUnavailable("jscode2session answer lacks openid or session_key")
        unionid = result.get("unionid")
        return LoginSession(
            openid=openid,
            unionid=unionid if isinstance(unionid, str) and unionid else None,
            session_key=session_key,
        )

    def get_unlimited_code(
        self,
        scene: str,
        page: str | None = None,
        width: int = 430,
        env_version: str = "release",
        check_path: bool = False,
    ) -> bytes:
        """PNG bytes of an unlimited mini-program code opening `page` with `scene` (≤ 32
        chars). Raises GatewayRejected for a WeChat errcode (e.g. "40169" for a bad scene),
        GatewayUnavailable if the answer is neither an error nor a PNG."""
        data: dict[str, Any] = {
            "scene": scene,
            "width": width,
            "env_version": env_version,
            "check_path": check_path,
        }
        if page:
            data["page"] = page

        def post() -> Any:
            return self._client.post(
                "wxa/getwxacodeunlimit",
                data=dict(data),
                api_base_url=self._client.wxa.API_BASE_URL,
            )

        result = self._call(post)
        if isinstance(result, requests.Response) and result.content.startswith(PNG_SIGNATURE):
            return result.content
        raise GatewayUnavailable("getwxacodeunlimit answered neither an error nor a PNG")

    def post_json(self, path: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """POST `data` as JSON to the mini-program API at `path` (e.g.
        "wxa/sec/order/upload_shipping_info", "cgi-bin/message/subscribe/send") with the
        access token; the answer's JSON object. Raises GatewayRejected with WeChat's errcode
        (e.g. "10060001", "43101"), GatewayUnavailable for HTTP errors, timeouts and answers
        that are not a JSON object."""

        def post() -> Any:
            return self._client.post(
                path, data=dict(data), api_base_url=self._client.wxa.API_BASE_URL
            )

        result = self._call(post)
        if not isinstance(result, dict):
            raise GatewayUnavailable(f"{path} answered something that is not a JSON object")
        return result

    def _call(self, fn: Callable[[], T]) -> T:
        """Run a wechatpy call; on a token error refresh the token and retry exactly once."""
        try:
            try:
                return fn()
            except WeChatClientException as exc:
                if exc.errcode not in TOKEN_ERRCODES:
                    raise
                log.info("access token rejected (%s); refreshing once", exc.errcode)
                self._client.fetch_access_token()
                return fn()
        except WeChatClientException as exc:
            if exc.errcode is None:
                status = getattr(exc.response, "status_code", None)
                raise GatewayUnavailable(f"WeChat answered HTTP {status}: {exc.errmsg}") from exc
            raise GatewayRejected(str(exc.errmsg), code=str(exc.errcode)) from exc
        except (requests.RequestException, ValueError) as exc:
            # ValueError: an answer that is not JSON where JSON was due.
            raise GatewayUnavailable(f"WeChat unreachable or garbled: {exc}") from exc
