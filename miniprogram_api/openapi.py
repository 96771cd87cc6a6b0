"""The OpenAPI 3.1 document of the mini-program API, built from the routes and schemas.

Views declare their schemas with `@api_doc(...)`; `build_openapi(app)` walks the URL map,
so a new route shows up without editing a second list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from pydantic import BaseModel
from werkzeug.routing import Rule

from miniprogram_api import schemas
from wxdist.core.error_codes import describe
from wxdist.core.ids import MAX_ID
from wxdist.distribution.settings import Settings

API_PREFIX = "/api/v1"


ERROR_MEANINGS = {
    400: "invalid input: `invalid` (fields named), `invalid_json` (a missing, malformed or "
    "over-deep body), or a refusal the message and fields explain",
    401: "no bearer token, or it is invalid, expired or revoked",
    403: "`not_distributor`: only distributors may use this",
    404: "no such resource (an id beyond the signed 64-bit range names nothing either)",
    409: "the resource's state does not allow it (the code says why)",
    413: "the body is larger than the server accepts",
    502: "the gateway (WeChat or Alipay) refused or did not answer",
}


def api_doc(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    also: tuple[int, ...] = (),
    media: str | None = None,
    errors: tuple[int, ...] = (),
    tag: str = "shop",
    upload: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Describe a view. `status` (and `also`) answer `response`, or a `media` file (an
    image, with 304 to a matching If-None-Match); `errors` are the statuses the view itself
    raises. The builder adds the edge's own: 400 for a body or query, 413 for a body, 404
    for a path id, 401 for a login. `upload` names the file field of a multipart body."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.api_doc = {  # type: ignore[attr-defined]
            "body": body,
            "query": query,
            "response": response,
            "status": status,
            "also": also,
            "media": media,
            "errors": errors,
            "tag": tag,
            "upload": upload,
        }
        return view

    return mark


def _ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


PATH_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def _parameters(rule_args: set[str], query: type[BaseModel] | None) -> list[dict[str, Any]]:
    params = [
        {"name": arg, "in": "path", "required": True, "schema": dict(PATH_ID)}
        for arg in sorted(rule_args)
    ]
    if query is not None:
        properties = query.model_json_schema()["properties"]
        for name, field in query.model_fields.items():
            schema = _not_null(properties[name])
            params.append(
                {"name": name, "in": "query", "required": field.is_required(), "schema": schema}
            )
    return params


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is absent or a value: a query string cannot say null."""
    options = schema.get("anyOf")
    if options and len(options) == 2 and {"type": "null"} in options:
        (value,) = (o for o in options if o != {"type": "null"})
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**value, **rest}
    return schema


def _error_statuses(rule: Rule, view: Callable[..., Any], doc: dict[str, Any]) -> list[int]:
    """The error statuses of an operation: the view's own and those of the edge (400 for a
    body or query, 413 for a body, 404 for a path id, 401 for a login)."""
    errors = set(doc["errors"])
    if doc["body"] is not None or doc["query"] is not None:
        errors.add(400)
    if doc["body"] is not None or doc["upload"] is not None:
        errors.update((400, 413))
    if rule.arguments:
        errors.add(404)
    if getattr(view, "login_required", False):
        errors.add(401)
    return sorted(errors)


def _operation(
    rule: Rule,
    view: Callable[..., Any],
    doc: dict[str, Any],
    components: dict[str, Any],
    error_ref: dict[str, str],
) -> dict[str, Any]:
    """One operation of the document; adds the schemas it names to `components`."""
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": (view.__doc__ or "").strip().splitlines()[0] if view.__doc__ else "",
        "tags": [doc["tag"]],
        "parameters": _parameters(set(rule.arguments), doc["query"]),
        "responses": {},
    }
    if doc["body"] is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(doc["body"], components)}},
        }
    if doc["upload"] is not None:
        field = doc["upload"]
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {field: {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    ok: dict[str, Any] = {"description": "OK"}
    if doc["response"] is not None:
        ok["content"] = {"application/json": {"schema": _ref(doc["response"], components)}}
    elif doc["media"] is not None:
        ok["content"] = {doc["media"]: {"schema": {"type": "string", "format": "binary"}}}
    for ok_status in (doc["status"], *doc["also"]):
        operation["responses"][str(ok_status)] = ok
    if doc["media"] is not None:
        operation["responses"]["304"] = {"description": "not modified (If-None-Match)"}
    if getattr(view, "login_required", False):
        operation["security"] = [{"bearer": []}]
    for code in _error_statuses(rule, view, doc):
        operation["responses"][str(code)] = {
            "description": ERROR_MEANINGS.get(code, "error"),
            "content": {"application/json": {"schema": error_ref}},
        }
    return operation


def build_openapi(app: Flask) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error_ref = _ref(schemas.ErrorOut, components)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "api_doc", None)
        if doc is None:
            continue
        path = rule.rule[len(API_PREFIX) :]
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = _operation(rule, view, doc, components, error_ref)
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wxdist mini-program API",
            "version": "1",
            "description": "Money is integer fen in `*_fen` fields. Errors share one shape: "
            '`{"error": {"code", "message", "fields"}}`. Times are ISO 8601 in Asia/Shanghai. '
            "Request bodies are JSON objects nested at most 32 levels; types are strict (a "
            "string or a boolean is never a number); ids are 1 to 2^63-1. Every "
            "`/distributor/...` endpoint except `GET /distributor` and `POST "
            "/distributor/application` answers 403 `not_distributor` to a user who is not a "
            "distributor; a disabled distributor still reads its figures and withdrawals but "
            "neither shares nor withdraws (403 `not_distributor`).\n\n"
            "Error messages (`message` and the texts in `fields`) are in the language of "
            "Accept-Language: zh-CN by default, or en. Programs branch on `code`, which never "
            "changes with the language. The codes:\n\n" + describe(),
        },
        "servers": [{"url": API_PREFIX}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def with_settings(spec: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The document with the limits the merchant's settings set now: the withdrawal methods
    on offer and the amount range per request. Copies what it changes; `spec` stays as built."""
    components = dict(spec["components"]["schemas"])
    union = dict(components["WithdrawalIn"])
    mapping = {
        method: ref
        for method, ref in union["discriminator"]["mapping"].items()
        if method in settings.methods
    }
    union["discriminator"] = {**union["discriminator"], "mapping": mapping}
    union["oneOf"] = [{"$ref": ref} for ref in mapping.values()]
    components["WithdrawalIn"] = union
    for ref in mapping.values():
        name = ref.rsplit("/", 1)[1]
        variant = dict(components[name])
        properties = dict(variant["properties"])
        properties["amount_fen"] = {
            **properties["amount_fen"],
            "minimum": settings.withdraw_min_fen,
            "maximum": settings.withdraw_max_fen,
        }
        variant["properties"] = properties
        components[name] = variant
    return {**spec, "components": {**spec["components"], "schemas": components}}
