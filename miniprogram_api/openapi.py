"""The OpenAPI 3.1 document of the mini-program API, built from the routes and schemas.

Views declare their schemas with `@api_doc(...)`; `build_openapi(app)` walks the URL map,
so a new route shows up without editing a second list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from pydantic import BaseModel

from miniprogram_api import schemas

API_PREFIX = "/api/v1"


def api_doc(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (400,),
    tag: str = "shop",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.api_doc = {  # type: ignore[attr-defined]
            "body": body,
            "query": query,
            "response": response,
            "status": status,
            "errors": errors,
            "tag": tag,
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


def _parameters(rule_args: set[str], query: type[BaseModel] | None) -> list[dict[str, Any]]:
    params = [
        {"name": arg, "in": "path", "required": True, "schema": {"type": "integer"}}
        for arg in sorted(rule_args)
    ]
    if query is not None:
        for name, field in query.model_fields.items():
            schema = query.model_json_schema()["properties"][name]
            params.append(
                {"name": name, "in": "query", "required": field.is_required(), "schema": schema}
            )
    return params


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
            ok: dict[str, Any] = {"description": "OK"}
            if doc["response"] is not None:
                ok["content"] = {"application/json": {"schema": _ref(doc["response"], components)}}
            operation["responses"][str(doc["status"])] = ok
            errors = set(doc["errors"])
            if getattr(view, "login_required", False):
                operation["security"] = [{"bearer": []}]
                errors.add(401)
            for code in sorted(errors):
                operation["responses"][str(code)] = {
                    "description": "error",
                    "content": {"application/json": {"schema": error_ref}},
                }
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wxdist mini-program API",
            "version": "1",
            "description": "Money is integer fen in `*_fen` fields. Errors share one shape: "
            '`{"error": {"code", "message", "fields"}}`. Times are ISO 8601 in Asia/Shanghai.',
        },
        "servers": [{"url": API_PREFIX}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
