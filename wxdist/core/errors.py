"""One error shape for the API: `{"error": {"code", "message", "fields"}}`.

Services raise `ApiError` subclasses with a message marked `_()`, so it is in the
request's language (Accept-Language: zh-CN by default, or en; zh_CN in jobs and the CLI);
`code` is the stable contract (all of them in core.error_codes). Blueprints let them
propagate. The handlers answer JSON under `/api` (and to clients asking for JSON), plain
HTML elsewhere (the message escaped), and roll the session back on every error so nothing
is half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from wxdist.core.error_codes import http_code
from wxdist.core.extensions import db
from wxdist.core.field_messages import field_message

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


class RateLimited(ApiError):
    """Too many requests in the window; `Retry-After` says when to come back."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, data={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


def error_body(
    code: str,
    message: Any,
    fields: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The error shape; messages may be lazy strings, the body holds plain ones. `data`
    (facts a client acts on, such as a new price) appears only when there are some."""
    body: dict[str, Any] = {
        "code": code,
        "message": str(message),
        "fields": {str(name): str(text) for name, text in (fields or {}).items()},
    }
    if data:
        body["data"] = dict(data)
    return {"error": body}


def validation_fields(exc: ValidationError) -> dict[str, str]:
    """Map pydantic errors to {"items.0.quantity": "message"}, messages in the request's
    language (core.field_messages)."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "body"
        fields.setdefault(name, field_message(err))
    return fields


# Our own words for HTTP errors that are not ours, by status (werkzeug's are English).
_HTTP_MESSAGES: dict[int, Any] = {
    400: _l("the request could not be understood"),
    401: _l("log in first"),
    403: _l("you may not do this"),
    404: _l("there is nothing at this address"),
    405: _l("this address does not take that method"),
    406: _l("no answer in a format the request accepts"),
    408: _l("the request took too long"),
    409: _l("the request conflicts with the current state"),
    410: _l("this is gone for good"),
    411: _l("the request needs a Content-Length"),
    412: _l("a precondition of the request failed"),
    413: _l("the request is too large"),
    414: _l("the address is too long"),
    415: _l("this content type is not accepted"),
    416: _l("the requested range cannot be served"),
    422: _l("the request could not be processed"),
    428: _l("the request must be conditional"),
    429: _l("too many requests; try again later"),
    431: _l("the request headers are too large"),
    500: _l("something went wrong on our side"),
    501: _l("this is not supported"),
    502: _l("a service we rely on failed; try again later"),
    503: _l("the service is unavailable; try again later"),
    504: _l("a service we rely on did not answer in time; try again later"),
}
_HTTP_OTHER = _l("the request could not be handled")


def http_message(status: int) -> str:
    """Our message for an HTTP error with this status, in the request's language."""
    return str(_HTTP_MESSAGES.get(status, _HTTP_OTHER))


def _wants_json() -> bool:
    return (
        request.path.startswith(("/api", "/open/"))
        or request.accept_mimetypes.best == "application/json"
    )


def error_response(
    status: int,
    *,
    code: str,
    message: Any,
    fields: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Response:
    """The error as JSON (the API, or a client asking for JSON), else a small HTML page with
    the message escaped."""
    if _wants_json():
        response = jsonify(error_body(code, message, fields, data))
        response.status_code = status
        return response
    page = Markup("<h1>{}</h1><p>{}</p>").format(status, str(message))
    return Response(str(page), status=status, mimetype="text/html")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        response = error_response(
            exc.status, code=exc.code, message=exc.message, fields=exc.fields, data=exc.data
        )
        response.headers.update(getattr(exc, "headers", {}))
        return response

    @app.errorhandler(ValidationError)
    def handle_validation(exc: ValidationError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return error_response(
            400,
            code="invalid",
            message=_("the request has invalid fields"),
            fields=validation_fields(exc),
        )

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):  # type: ignore[no-untyped-def]
        db.session.rollback()
        status = exc.code or 500
        response = error_response(status, code=http_code(status), message=http_message(status))
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
        return error_response(
            500, code="internal_error", message=_("something went wrong on our side")
        )
