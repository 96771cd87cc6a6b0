"""One error shape for the API: `{"error": {"code", "message", "fields"}}`.

Services raise `ApiError` subclasses; blueprints let them propagate. The handlers answer
JSON under `/api` (and to clients asking for JSON), plain HTML elsewhere, and roll the
session back on every error so nothing is half-written.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from wxdist.core.extensions import db

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client can act on."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        status: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.data = data or {}  # facts a client acts on (a new price), beside the message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class GatewayFailed(ApiError):
    """The payment gateway refused or did not answer."""

    status, code = 502, "gateway_error"


def error_body(
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
    if data:
        body["data"] = data
    return {"error": body}


def validation_fields(exc: ValidationError) -> dict[str, str]:
    """Map pydantic errors to {"items.0.quantity": "message"}."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "body"
        fields.setdefault(name, err["msg"])
    return fields


def _wants_json() -> bool:
    return request.path.startswith("/api") or request.accept_mimetypes.best == "application/json"


def _respond(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
):
    if _wants_json():
        response = jsonify(error_body(code, message, fields, data))
        response.status_code = status
        return response
    return Response(f"<h1>{status}</h1><p>{message}</p>", status=status, mimetype="text/html")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return _respond(exc.status, exc.code, exc.message, exc.fields, exc.data)

    @app.errorhandler(ValidationError)
    def handle_validation(exc: ValidationError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return _respond(400, "invalid", "the request has invalid fields", validation_fields(exc))

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):  # type: ignore[no-untyped-def]
        db.session.rollback()
        code = (exc.name or "error").lower().replace(" ", "_")
        response = _respond(exc.code or 500, code, exc.description or exc.name)
        # The exception's own headers (405's Allow, 401's WWW-Authenticate, 413's ...),
        # never its Content-Type: the body is ours.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(500, "internal_error", "something went wrong on our side")
