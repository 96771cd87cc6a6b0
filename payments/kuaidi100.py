"""Kuaidi100 (快递100) tracking: the real-time query (`poll/query.do`) and the push
subscription (`poll`) with its signed callback.

- query: form fields `customer`, `param` (JSON {com, num, phone?, resultv2}) and `sign` =
  MD5(param + key + customer), upper-case hex;
- subscribe: form fields `schema=json` and `param` (JSON {company, number, key,
  parameters: {callbackurl, salt, resultv2, phone?}});
- callback: form fields `param` (JSON {status, message, lastResult: {state, ischeck, com,
  nu, data: [{time, context, status?}]}}) and `sign` = MD5(param + salt), upper-case hex.

Kuaidi100 names carriers its own way (`shunfeng`, `zhongtong`…): `KUAIDI100_COMPANY` maps
WeChat's delivery_id to them. Failures surface as `payments.errors` (GatewayRejected with
Kuaidi100's returnCode, GatewayUnavailable, InvalidNotify for a bad callback).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from payments.errors import GatewayRejected, GatewayUnavailable, InvalidNotify

LIVE_BASE_URL = "https://poll.kuaidi100.com"

# WeChat delivery_id → Kuaidi100 company code.
KUAIDI100_COMPANY = {
    "SF": "shunfeng",
    "ZTO": "zhongtong",
    "YTO": "yuantong",
    "STO": "shentong",
    "YD": "yunda",
    "JTSD": "jtexpress",
    "EMS": "ems",
    "JD": "jd",
    "DBL": "debangkuaidi",
    "HTKY": "huitongkuaidi",
}
WECHAT_COMPANY = {v: k for k, v in KUAIDI100_COMPANY.items()}

# Kuaidi100's `state` codes → ours.
STATES = {
    "1": "collected",  # 揽收
    "0": "in_transit",  # 在途
    "5": "delivering",  # 派件
    "3": "signed",  # 签收
    "2": "problem",  # 疑难
    "4": "returned",  # 退签
    "6": "returned",  # 退回
    "14": "refused",  # 拒签
}
STATUS_WORDS = {"揽收": "1", "在途": "0", "派件": "5", "签收": "3", "疑难": "2", "退签": "4"}


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()


@dataclass(frozen=True)
class Track:
    """One step: `time` as Kuaidi100 writes it (China time, "YYYY-MM-DD HH:MM:SS")."""

    time: str
    state: str  # ours: collected, in_transit, delivering, signed, problem, returned…
    text: str


@dataclass(frozen=True)
class Tracking:
    company: str  # WeChat's delivery_id when known, else Kuaidi100's code
    number: str
    signed: bool
    tracks: tuple[Track, ...]


def _tracking(result: Mapping[str, Any]) -> Tracking:
    overall = str(result.get("state", ""))
    tracks = []
    for row in result.get("data") or []:
        if not isinstance(row, dict):
            continue
        code = STATUS_WORDS.get(str(row.get("status", "")), overall)
        tracks.append(
            Track(
                time=str(row.get("ftime") or row.get("time") or ""),
                state=STATES.get(code, "in_transit"),
                text=str(row.get("context", ""))[:255],
            )
        )
    com = str(result.get("com", ""))
    return Tracking(
        company=WECHAT_COMPANY.get(com, com),
        number=str(result.get("nu", "")),
        signed=overall == "3" or str(result.get("ischeck", "")) == "1",
        tracks=tuple(tracks),
    )


class Kuaidi100Client:
    """`base_url` is Kuaidi100's (or the emulator's); `customer`, `key` and `salt` are the
    account's credentials and the callback salt."""

    def __init__(
        self, base_url: str, customer: str, key: str, salt: str, timeout: float = 10
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.customer, self.key, self.salt, self.timeout = customer, key, salt, timeout

    def _post(self, path: str, form: Mapping[str, str]) -> dict[str, Any]:
        try:
            res = requests.post(f"{self.base_url}/{path}", data=dict(form), timeout=self.timeout)
            res.raise_for_status()
            answer = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise GatewayUnavailable(f"Kuaidi100 unreachable or garbled: {exc}") from exc
        if not isinstance(answer, dict):
            raise GatewayUnavailable("Kuaidi100 answered something that is not a JSON object")
        return answer

    def query(self, delivery_id: str, number: str, phone: str = "") -> Tracking:
        """The parcel's steps so far. Raises GatewayRejected (returnCode), Unavailable."""
        param = json.dumps(
            {
                "com": KUAIDI100_COMPANY.get(delivery_id, delivery_id.lower()),
                "num": number,
                "phone": phone,
                "resultv2": "1",
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        sign = md5_upper(param + self.key + self.customer)
        answer = self._post(
            "poll/query.do", {"customer": self.customer, "param": param, "sign": sign}
        )
        if answer.get("result") is False or str(answer.get("status", "200")) != "200":
            code = str(answer.get("returnCode") or answer.get("status") or "")
            raise GatewayRejected(str(answer.get("message", "")), code=code)
        return _tracking(answer)

    def subscribe(self, delivery_id: str, number: str, callback_url: str, phone: str = "") -> None:
        """Ask for pushes of the parcel's steps to `callback_url`. A repeated subscription
        (returnCode 501) is fine. Raises GatewayRejected, GatewayUnavailable."""
        param = json.dumps(
            {
                "company": KUAIDI100_COMPANY.get(delivery_id, delivery_id.lower()),
                "number": number,
                "key": self.key,
                "parameters": {
                    "callbackurl": callback_url,
                    "salt": self.salt,
                    "resultv2": "1",
                    "phone": phone,
                },
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        answer = self._post("poll", {"schema": "json", "param": param})
        code = str(answer.get("returnCode", ""))
        if answer.get("result") is not True and code != "501":
            raise GatewayRejected(str(answer.get("message", "")), code=code)

    def parse_callback(self, form: Mapping[str, str]) -> Tracking:
        """Verify and read a pushed callback. Raises InvalidNotify (bad sign or shape)."""
        param, sign = form.get("param") or "", form.get("sign") or ""
        if not param or not hmac.compare_digest(md5_upper(param + self.salt), sign.upper()):
            raise InvalidNotify("Kuaidi100 callback sign does not match")
        try:
            body = json.loads(param)
        except ValueError as exc:
            raise InvalidNotify("Kuaidi100 callback param is not JSON") from exc
        result = body.get("lastResult") if isinstance(body, dict) else None
        if not isinstance(result, dict) or not result.get("nu"):
            raise InvalidNotify("Kuaidi100 callback has no lastResult")
        return _tracking(result)

    @staticmethod
    def callback_answer(ok: bool, message: str = "") -> dict[str, Any]:
        """What Kuaidi100 expects back from a callback."""
        if ok:
            return {"result": True, "returnCode": "200", "message": "成功"}
        return {"result": False, "returnCode": "500", "message": message or "失败"}
