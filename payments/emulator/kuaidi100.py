"""The Kuaidi100 (快递100) emulator: `poll/query.do` (MD5(param+key+customer) checked),
`poll` (subscription; the callback URL and salt remembered) under `/kuaidi100/`, and a
parcel player: `POST /_emulator/kuaidi100/advance {"number", "steps"?}` moves a parcel
揽收 → 在途 → 派件 → 签收 one step at a time and posts each step to the subscriber as
Kuaidi100 does (form `param` + `sign` = MD5(param+salt) upper-case). Counters at
`GET /_emulator/kuaidi100/stats`; `POST /_emulator/kuaidi100/reset` forgets everything.
A parcel is known once it is subscribed or queried (any number is "collected" then).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from payments.emulator.settings import EmulatorSettings

bp = Blueprint("emulator_kuaidi100", __name__)
EXTENSION = "emulator_kuaidi100"
CHINA = timedelta(hours=8)
STEPS = (  # (state code, status word, text)
    ("1", "揽收", "【上海市】快递员已揽收"),
    ("0", "在途", "【上海市】快件已发往目的地"),
    ("5", "派件", "【上海市】快递员正在派件"),
    ("3", "签收", "【上海市】已签收，签收人：本人"),
)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()


@dataclass
class Parcel:
    com: str
    number: str
    steps: list[dict[str, str]] = field(default_factory=list)  # newest first, as Kuaidi100
    callback_url: str | None = None
    salt: str = ""


class Kuaidi100State:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.parcels: dict[str, Parcel] = {}
            self.stats: Counter[str] = Counter()

    def parcel(self, com: str, number: str) -> Parcel:
        with self.lock:
            found = self.parcels.get(number)
            if found is None:
                found = self.parcels[number] = Parcel(com, number)
            return found

    def advance(self, parcel: Parcel) -> bool:
        """One step further; False once signed for."""
        with self.lock:
            if len(parcel.steps) >= len(STEPS):
                return False
            code, word, text = STEPS[len(parcel.steps)]
            now = (datetime.now(UTC) + CHINA).strftime("%Y-%m-%d %H:%M:%S")
            parcel.steps.insert(
                0, {"time": now, "ftime": now, "context": text, "status": word, "code": code}
            )
            return True

    @staticmethod
    def result(parcel: Parcel) -> dict[str, Any]:
        state = parcel.steps[0]["code"] if parcel.steps else "1"
        return {
            "message": "ok",
            "state": state,
            "status": "200",
            "condition": "F00",
            "ischeck": "1" if state == "3" else "0",
            "com": parcel.com,
            "nu": parcel.number,
            "data": [{k: v for k, v in s.items() if k != "code"} for s in parcel.steps],
        }


def _state() -> Kuaidi100State:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def _param() -> dict[str, Any] | None:
    try:
        body = json.loads(request.form.get("param", ""))
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@bp.post("/kuaidi100/poll/query.do")
def query() -> Response:
    state = _state()
    state.stats["queries"] += 1
    s = state.settings
    raw = request.form.get("param", "")
    if request.form.get("customer") != s.kuaidi100_customer:
        return jsonify(result=False, returnCode="601", message="customer 不正确")
    if request.form.get("sign", "") != _md5(raw + s.kuaidi100_key + s.kuaidi100_customer):
        return jsonify(result=False, returnCode="400", message="签名错误")
    param = _param()
    if param is None or not param.get("com") or not param.get("num"):
        return jsonify(result=False, returnCode="400", message="参数错误")
    parcel = state.parcel(str(param["com"]), str(param["num"]))
    if not parcel.steps:
        state.advance(parcel)
    return jsonify(state.result(parcel))


@bp.post("/kuaidi100/poll")
def subscribe() -> Response:
    state = _state()
    state.stats["subscriptions"] += 1
    param = _param()
    if param is None or param.get("key") != state.settings.kuaidi100_key:
        return jsonify(result=False, returnCode="600", message="key 不正确")
    parameters = param.get("parameters") or {}
    if not param.get("company") or not param.get("number") or not parameters.get("callbackurl"):
        return jsonify(result=False, returnCode="700", message="参数错误")
    parcel = state.parcel(str(param["company"]), str(param["number"]))
    with state.lock:
        again = parcel.callback_url is not None
        parcel.callback_url = str(parameters["callbackurl"])
        parcel.salt = str(parameters.get("salt") or "")
    if again:
        return jsonify(result=False, returnCode="501", message="重复订阅")
    return jsonify(result=True, returnCode="200", message="提交成功")


def post_callback(state: Kuaidi100State, parcel: Parcel, sign: str | None = None) -> int | None:
    """Push the parcel's state to its subscriber; the HTTP status (None if unreachable)."""
    if not parcel.callback_url:
        return None
    result = state.result(parcel)
    body = {
        "status": "shutdown" if result["state"] == "3" else "polling",
        "message": "",
        "lastResult": result,
    }
    param = json.dumps(body, ensure_ascii=False)
    state.stats["callbacks"] += 1
    try:
        res = requests.post(
            parcel.callback_url,
            data={"param": param, "sign": sign or _md5(param + parcel.salt)},
            timeout=10,
        )
    except requests.RequestException:
        return None
    return res.status_code


@bp.post("/_emulator/kuaidi100/advance")
def control_advance() -> tuple[Response, int] | Response:
    """Body {"number", "steps": 1, "sign"?: a wrong sign to post instead}."""
    state = _state()
    body = request.get_json(silent=True) or {}
    parcel = state.parcels.get(str(body.get("number", "")))
    if parcel is None:
        return jsonify(error="no such parcel (subscribe or query it first)"), 404
    statuses = []
    for _ in range(int(body.get("steps", 1))):
        if parcel.steps and not state.advance(parcel):
            break
        if not parcel.steps:
            state.advance(parcel)
        statuses.append(post_callback(state, parcel, body.get("sign")))
    return jsonify(state=state.result(parcel)["state"], callbacks=statuses)


@bp.get("/_emulator/kuaidi100/stats")
def control_stats() -> Response:
    state = _state()
    with state.lock:
        subscribed = sum(1 for p in state.parcels.values() if p.callback_url)
        return jsonify({**state.stats, "subscribed": subscribed, "parcels": len(state.parcels)})


@bp.post("/_emulator/kuaidi100/reset")
def control_reset() -> Response:
    _state().reset()
    return jsonify(ok=True)


def register(app: Flask, settings: EmulatorSettings) -> None:
    app.extensions[EXTENSION] = Kuaidi100State(settings)
    app.register_blueprint(bp)
