"""`GET /media/<key>`: stored media by key (uploaded pictures, template backgrounds).

Keys of stored media are digests of their content or inputs, so an answer never changes:
it is served with a year's `Cache-Control: immutable`. In production a web server or CDN
can serve `MEDIA_DIR` at `/media/` directly instead.
"""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, abort, request

from wxdist.core.media import storage

media_bp = Blueprint("media", __name__)


@media_bp.get("/media/<path:key>")
def media(key: str) -> Response:
    try:
        data = storage().get(key)
    except ValueError:
        abort(404)
    if data is None:
        abort(404)
    mimetype = mimetypes.guess_type(key)[0] or "application/octet-stream"
    response = Response(data, mimetype=mimetype)
    response.set_etag(key)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)
