"""Fixtures: one gateway emulator and one notify receiver per session, reset per test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from config import load_settings
from payments.emulator import EmulatorServer, EmulatorSettings

SUCCESS_REPLY = (
    "<xml><return_code><![CDATA[SUCCESS]]></return_code>"
    "<return_msg><![CDATA[OK]]></return_msg></xml>"
)


@dataclass
class Received:
    path: str
    body: bytes
    content_type: str | None
    headers: dict[str, str] = field(default_factory=dict)  # e.g. WeChat Pay v3 notify headers


@dataclass
class HttpSink:
    """A tiny HTTP server that records every request and answers a configurable reply.
    It receives notifies, and can pose as a misbehaving gateway."""

    server: BaseWSGIServer
    received: list[Received] = field(default_factory=list)
    reply_body: bytes = SUCCESS_REPLY.encode()
    reply_status: int = 200
    reply_content_type: str = "text/xml"
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def reset(self) -> None:
        with self._cond:
            self.received.clear()
        self.reply_body = SUCCESS_REPLY.encode()
        self.reply_status = 200
        self.reply_content_type = "text/xml"

    def record(self, environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        with self._cond:
            self.received.append(
                Received(req.path, req.get_data(), req.content_type, dict(req.headers))
            )
            self._cond.notify_all()
        res = Response(
            self.reply_body, status=self.reply_status, content_type=self.reply_content_type
        )
        return res(environ, start_response)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Block until `count` requests arrived; returns them (fails the test on timeout)."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.received) >= count, timeout)
            assert ok, f"expected {count} requests, got {len(self.received)}"
            return list(self.received)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    base = load_settings({})
    server = EmulatorServer(EmulatorSettings.from_config(base, port=0)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _sink_server() -> Iterator[HttpSink]:
    holder: dict[str, HttpSink] = {}
    server = make_server("127.0.0.1", 0, lambda e, s: holder["sink"].record(e, s), threaded=True)
    sink = HttpSink(server)
    holder["sink"] = sink
    thread = threading.Thread(target=server.serve_forever, name="notify-sink", daemon=True)
    thread.start()
    yield sink
    server.shutdown()
    server.server_close()


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> str:
    """The emulator's URL, with WeChat state and armed faults cleared."""
    url = emulator_server.url
    requests.post(f"{url}/_emulator/wechat/reset", timeout=5).raise_for_status()
    requests.delete(f"{url}/_emulator/faults", timeout=5).raise_for_status()
    return url


@pytest.fixture
def sink(_sink_server: HttpSink) -> HttpSink:
    _sink_server.reset()
    return _sink_server


@pytest.fixture
def cfg(emulator: str) -> dict[str, Any]:
    """App config on the embedded defaults, pointed at the running emulator."""
    config = load_settings({})
    config["EMULATOR_URL"] = emulator
    config["GATEWAY_TIMEOUT_SECONDS"] = 5
    return config


def arm_fault(emulator: str, key: str, mode: str, **extra: Any) -> None:
    res = requests.post(
        f"{emulator}/_emulator/faults", json={"key": key, "mode": mode, **extra}, timeout=5
    )
    res.raise_for_status()


def stats(emulator: str) -> dict[str, Any]:
    res = requests.get(f"{emulator}/_emulator/wechat/stats", timeout=5)
    res.raise_for_status()
    return res.json()  # type: ignore[no-any-return]
