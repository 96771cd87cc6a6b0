"""The OpenAPI document and a Swagger UI page that renders it (assets from swagger-ui-bundle,
served locally: no CDN)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, send_from_directory

from miniprogram_api.openapi import build_openapi, with_settings
from wxdist.distribution.settings import get_settings

bp = Blueprint("api_docs", __name__)

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wxdist API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""

ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js"}


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    """The document as built from the routes, with the limits of the current settings."""
    spec = current_app.extensions.get("wxdist_openapi")
    if spec is None:
        spec = current_app.extensions["wxdist_openapi"] = build_openapi(current_app)
    return with_settings(spec, get_settings())


@bp.get("/docs")
def docs():  # type: ignore[no-untyped-def]
    return DOCS_PAGE


@bp.get("/docs/assets/<name>")
def docs_asset(name: str):  # type: ignore[no-untyped-def]
    if name not in ASSETS:
        abort(404)
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(str(swagger_ui_path), name, max_age=86400)
