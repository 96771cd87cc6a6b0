"""Reading requests: bearer auth, JSON bodies and query strings through schemas.

Every failure is an ApiError with the offending field named, never a 500.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import g, request
from flask_babel import gettext as _
from pydantic import BaseModel, RootModel, ValidationError

from wxdist.accounts.auth import TokenClaims, claims_from_token, user_from_token
from wxdist.core.errors import ApiError, Unauthorized, validation_fields
from wxdist.core.field_messages import field_message
from wxdist.core.request_json import MAX_JSON_DEPTH, JSONDepthError, loads_bounded
from wxdist.models import User

M = TypeVar("M", bound=BaseModel)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Require `Authorization: Bearer <token>`; the user is in `current_user()`."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.current_user = user_from_token(bearer_token())
        return view(*args, **kwargs)

    wrapper.login_required = True  # type: ignore[attr-defined]  (read by the OpenAPI builder)
    return wrapper


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Require a genuine, unexpired bearer token without loading the user; its claims are in
    `current_claims()`. For hot paths only: the view must hand the claims to a service that
    checks them against the user's row in its first query (`accounts.auth.check_claims`), so a
    revoked token or a deleted user is still refused, one round trip cheaper."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.token_claims = claims_from_token(bearer_token())
        return view(*args, **kwargs)

    wrapper.login_required = True  # type: ignore[attr-defined]  (read by the OpenAPI builder)
    return wrapper


def current_claims() -> TokenClaims:
    return g.token_claims


def bearer_token() -> str:
    """The token of `Authorization: Bearer <token>`. Raises Unauthorized without one."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            _("log in first"),
            code="unauthorized",
            fields={"Authorization": _("Bearer token needed")},
        )
    return token.strip()


def current_user() -> User:
    return g.current_user


def body(model: type[M]) -> M:
    """The JSON body validated by `model`. Raises ApiError 400 `invalid_json` (field `body`)
    for a missing, malformed or over-deep body (decoded within the bounds of
    `wxdist.core.request_json`), else `invalid` naming the field."""
    raw = request.get_data(cache=True)
    if not raw:
        _invalid_json(_("a JSON body is required"))
    if not request.is_json:
        _invalid_json(_("the body must be sent as application/json"))
    try:
        data = loads_bounded(raw)
    except JSONDepthError:
        _invalid_json(_("the body is nested deeper than %(depth)s levels", depth=MAX_JSON_DEPTH))
    except ValueError:
        _invalid_json(_("the body is not valid JSON"))
    if not isinstance(data, dict):
        raise ApiError(
            _("the body must be a JSON object"),
            code="invalid_json",
            fields={"body": _("must be an object")},
        )
    return _validate(model, data)


def _invalid_json(message: str) -> NoReturn:
    raise ApiError(message, code="invalid_json", fields={"body": message})


def query(model: type[M]) -> M:
    """The query string validated by `model`. Raises ApiError 400 naming the parameter."""
    return _validate(model, request.args.to_dict())


def _validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        discriminator = _discriminator(model)
        fields = _union_fields(discriminator, exc) if discriminator else validation_fields(exc)
        raise ApiError(_("the request has invalid fields"), code="invalid", fields=fields) from None


def _discriminator(model: type[BaseModel]) -> str | None:
    """The tag field of a root model that is a discriminated union (WithdrawalIn), else None."""
    if not issubclass(model, RootModel):
        return None
    discriminator = model.model_fields["root"].discriminator
    return discriminator if isinstance(discriminator, str) else None


def _union_fields(discriminator: str, exc: ValidationError) -> dict[str, str]:
    """Fields of a discriminated union's errors named as the client wrote them: pydantic
    puts the tag first (`bank.account.holder`) and names no field for a bad tag."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        if err["type"].startswith("union_tag"):
            name = discriminator
        else:
            name = ".".join(str(p) for p in err["loc"][1:]) or "body"
        fields.setdefault(name, field_message(err))
    return fields


def client_ip() -> str:
    """The shopper's IP for the gateway (first X-Forwarded-For hop behind a proxy)."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    ip = forwarded.split(",")[0].strip() if forwarded else (request.remote_addr or "")
    return ip or "127.0.0.1"
