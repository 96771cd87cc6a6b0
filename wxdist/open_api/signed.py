"""The edge of every open API operation: the signature, the key's scope and rate, then the
body or query through a schema. Every refusal is JSON naming its reason and field."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError

from wxdist.core.errors import ApiError, validation_fields
from wxdist.core.request_json import MAX_JSON_DEPTH, JSONDepthError, loads_bounded
from wxdist.integrations import request_signing

M = TypeVar("M", bound=BaseModel)


def operation(
    scope: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An operation needing `scope`: the request is verified, the key's scope checked and
    one request of its rate counted before the view runs. The rest describes it for the
    OpenAPI document (wxdist.open_api.document)."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            path = request.path
            if request.query_string:
                path += "?" + request.query_string.decode("latin-1")
            key = request_signing.verify(
                request.headers, request.method, path, request.get_data(cache=True)
            )
            request_signing.require_scope(key, scope)
            request_signing.count_request(key)
            g.api_key = key
            return view(*args, **kwargs)

        wrapper.open_doc = {  # type: ignore[attr-defined]
            "scope": scope, "body": body, "query": query, "response": response,
            "status": status, "errors": errors,
        }  # fmt: skip
        return wrapper

    return mark


def current_key() -> request_signing.Caller:
    return g.api_key


def raw_body() -> bytes:
    return request.get_data(cache=True)


def body(model: type[M]) -> M:
    """The JSON body through `model`. Raises ApiError `invalid_json` (field `body`) or
    `invalid` naming each bad field."""
    raw = raw_body()
    try:
        data = loads_bounded(raw) if raw else None
    except JSONDepthError:
        data = _bad_json(_("the body is nested deeper than %(depth)s levels", depth=MAX_JSON_DEPTH))
    except ValueError:
        data = _bad_json(_("the body is not valid JSON"))
    if not isinstance(data, dict):
        _bad_json(_("the body must be a JSON object"))
    return _validate(model, data)


def query(model: type[M]) -> M:
    """The query string through `model`. Raises ApiError `invalid` naming the parameter."""
    return _validate(model, request.args.to_dict())


def _bad_json(message: str) -> Any:
    raise ApiError(message, code="invalid_json", fields={"body": message})


def _validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(
            _("the request has invalid fields"), code="invalid", fields=validation_fields(exc)
        ) from None
