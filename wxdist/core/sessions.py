"""Signed-cookie sessions for the panel's browsers, none for the machine-facing surfaces.

The mini-program API authenticates every request with a bearer token and the gateways'
notifies with their signatures; neither sends a session cookie nor may set one. Flask would
still open and save a session for each of their requests (and mark the answer
`Vary: Cookie`): ~3% of a cart checkout's CPU for nothing. Requests under
`COOKIELESS_PREFIXES` get Flask's null session instead, which reads as empty and refuses
writes, so a stray use shows as an error rather than a cookie.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface

COOKIELESS_PREFIXES = ("/api/", "/notify/")


class PanelOnlySessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, except under COOKIELESS_PREFIXES."""

    def open_session(self, app: Flask, request: Request) -> Any:
        if request.path.startswith(COOKIELESS_PREFIXES):
            return None  # Flask makes the null session
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = PanelOnlySessions()
