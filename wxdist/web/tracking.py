"""Tracking providers' pushes (`POST /notify/tracking/<provider>`): untrusted input. The
provider's adapter verifies the signature; a bad one is refused and changes nothing."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from wxdist.shop import tracking

tracking_bp = Blueprint("tracking_notify", __name__, url_prefix="/notify/tracking")


@tracking_bp.post("/<name>")
def callback(name: str) -> tuple[Response, int]:
    if tracking.find(name) is None:
        return jsonify(result=False, message="unknown provider"), 404
    form = {key: request.form.get(key, "") for key in ("param", "sign")}
    accepted, answer = tracking.handle_callback(name, form)
    return jsonify(answer), 200 if accepted else 400
