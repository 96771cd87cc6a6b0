"""The panel blueprint and the extensions it uses (bound by `register_panel`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from wxdist.core.errors import ApiError
from wxdist.core.extensions import db

log = logging.getLogger(__name__)

panel_bp = Blueprint(
    "panel",
    __name__,
    url_prefix="/panel",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
login_manager = LoginManager()
login_manager.login_view = "panel.login"
login_manager.login_message = _l("Please sign in.")
login_manager.localize_callback = str  # flashed into the session: plain text
csrf = CSRFProtect()
V = TypeVar("V", bound=Callable[..., Any])


@login_manager.user_loader
def _load_staff(value: str):  # type: ignore[no-untyped-def]
    from wxdist.accounts.staff import load_session

    return load_session(value)


ID_MAX = 2**63 - 1  # ids are signed 64-bit integers in every table


@panel_bp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id in a URL that no row can have is Not Found (the database would refuse it)."""
    for value in (values or {}).values():
        if isinstance(value, int) and not 0 <= value <= ID_MAX:
            abort(404)


def accepts_upload(max_bytes: int, field: str) -> Callable[[V], V]:
    """Mark a view that takes a file upload: its requests may carry up to `max_bytes` (the
    app's MAX_CONTENT_LENGTH holds for every other view), and a larger body is refused
    naming `field`. Put it below `@area(...)` (nearest the function)."""

    def mark(view: V) -> V:
        view.upload_limit = (max_bytes, field)  # type: ignore[attr-defined]
        return view

    return mark


def _upload_limit() -> tuple[int, str] | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "upload_limit", None)


@panel_bp.before_request
def _staff_language() -> None:
    """The signed-in staff member's own language choice comes before Accept-Language."""
    if current_user.is_authenticated and current_user.locale:
        g.locale_preference = current_user.locale
        refresh()  # a locale chosen earlier in this request is chosen again


@panel_bp.before_request
def _protect_forms() -> None:
    """CSRF on every panel form (the JSON API and gateway notifies carry no cookies); an
    upload view's body limit is set first, since the check reads the form."""
    limit = _upload_limit()
    if limit is not None:
        request.max_content_length = limit[0]
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@panel_bp.after_request
def _no_store(response: Response) -> Response:
    """Staff pages hold personal and financial data: never cached, never framed."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@panel_bp.errorhandler(CSRFError)
def _csrf_refused(exc: CSRFError):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return error_page(400, _("The form expired or was not sent from the panel; reload and retry."))


@panel_bp.errorhandler(ApiError)
def _service_refused(exc: ApiError):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return error_page(exc.status, exc.message, exc.fields)


@panel_bp.errorhandler(413)
def _too_large(exc):  # type: ignore[no-untyped-def]
    db.session.rollback()
    limit = _upload_limit()
    if limit is None:
        return error_page(413, _("The form is larger than the panel accepts."))
    max_bytes, field = limit
    most = _("at most %(megabytes)s MB", megabytes=max_bytes // (1024 * 1024))
    return error_page(413, _("The upload is too large."), {field: most})


@panel_bp.errorhandler(403)
def _forbidden(exc):  # type: ignore[no-untyped-def]
    return error_page(403, _("Your role cannot open this page."))


@panel_bp.errorhandler(404)
def _not_found(exc):  # type: ignore[no-untyped-def]
    return error_page(404, _("Not found."))


@panel_bp.errorhandler(Exception)
def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
    """Any other HTTP refusal raised in a panel view, or a failure (500), as the panel's
    page in the reader's language (a refusal keeps its headers). URLs that match no panel
    route are answered by the app's handlers (`core.errors`)."""
    db.session.rollback()
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        response = make_response(error_page(status, _("The panel cannot answer this request.")))
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(500, _("Something went wrong on our side; please try again."))


def error_page(status: int, message: str, fields: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The panel's error page, with the fields that were wrong and a way back."""
    home = "panel.dashboard" if current_user.is_authenticated else "panel.login"
    back = panel_referrer(home)
    return (
        render_template(
            "panel/error.html", status=status, message=message, fields=fields or {}, back=back
        ),
        status,
    )


def panel_referrer(default_endpoint: str) -> str:
    """The page the request came from when it is a panel page of this site (as a path),
    else `default_endpoint`: a Referer is the client's word, never a way off the panel."""
    parts = urlsplit(request.referrer or "")
    same_site = parts.scheme in ("http", "https") and parts.netloc == request.host
    if same_site and (parts.path == "/panel" or parts.path.startswith("/panel/")):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url_for(default_endpoint)
