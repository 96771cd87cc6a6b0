"""A webhook receiver on a local port for tests and benches: it records every request
(headers, body, when) and answers each with the next behaviour of its script (a status,
`Hang` for longer than the sender waits, or a status with headers), then with its default."""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 resets connections in a burst of senders
    daemon_threads = True


@dataclass(frozen=True)
class Hang:
    seconds: float  # answer 200 only after this long (the sender has given up)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    def __init__(self, default: int = 200) -> None:
        self.default = default
        self.script: deque[Any] = deque()
        self.received: list[Received] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.arrived:
                    receiver.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body,
                                 time.monotonic())
                    )  # fmt: skip
                    receiver.arrived.notify_all()
                    step = receiver.script.popleft() if receiver.script else receiver.default
                if isinstance(step, Hang):
                    time.sleep(step.seconds)
                    step = 200
                answer = step if isinstance(step, Answer) else Answer(int(step))
                with suppress(OSError):  # a sender that gave up has closed the connection
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until `count` requests arrived; raises AssertionError after `timeout`."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
        assert ok, f"{len(self.received)} of {count} requests arrived in {timeout} s"
        return list(self.received)
