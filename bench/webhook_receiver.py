"""The webhook bench's receiver, run as its own process: answers every POST 200 at once and
writes one line per request to OUTFILE: arrival time (time.time()), webhook-id, and the
event's `data.seq`.

    .venv/bin/python bench/webhook_receiver.py PORT OUTFILE
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 resets connections in a burst of senders
    daemon_threads = True


def main(port: int, path: str) -> None:
    out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            arrived = time.time()
            seq = json.loads(body)["data"].get("seq", -1)
            with lock:
                out.write(f"{arrived:.6f} {self.headers.get('webhook-id')} {seq}\n")
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = _Server(("127.0.0.1", port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
