"""Run the emulator in a background thread on loopback."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, make_server

from payments.emulator.app import create_emulator_app
from payments.emulator.settings import EmulatorSettings


class EmulatorServer:
    """A threaded WSGI server for the emulator. `start()` returns once it listens."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.app = create_emulator_app(settings)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return f"http://{self.settings.host}:{self._server.server_port}"

    def start(self) -> EmulatorServer:
        """Bind and serve. Raises OSError if the port is taken."""
        self._server = make_server(self.settings.host, self.settings.port, self.app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="gateway-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
