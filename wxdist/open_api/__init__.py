"""The open API for ERPs and warehouses, under /open/v1: signed requests by API key
(wxdist.integrations.request_signing), scopes, a rate per key, its own OpenAPI document.

A surface: it reads requests and calls wxdist.integrations' services; no SQL here."""

from __future__ import annotations

from flask import Flask

from wxdist.integrations.api_keys import API_PREFIX as PREFIX


def register_open_api(app: Flask) -> None:
    from wxdist.open_api.views import bp

    app.register_blueprint(bp, url_prefix=PREFIX)
