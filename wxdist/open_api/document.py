"""The open API's OpenAPI 3.1 document, built from its routes' `@operation` marks."""

from __future__ import annotations

from typing import Any

from flask import Flask
from pydantic import BaseModel

from wxdist.core.error_codes import ERROR_CODES
from wxdist.integrations import request_signing
from wxdist.integrations.api_keys import API_PREFIX as PREFIX
from wxdist.open_api import schemas

ERRORS = {
    400: "invalid input: `invalid` (fields named) or `invalid_json`",
    401: "the request is not signed right: `signature_missing`, `unknown_key`, "
    "`key_revoked`, `stale_timestamp`, `bad_signature`, `replayed_nonce`",
    403: "`wrong_scope`: the key lacks this operation's scope",
    404: "no such order",
    409: "`request_id_reused`, `stock_below_zero`, or the order's state refuses it",
    413: "the body is larger than the server accepts",
    429: "`rate_limited`: past the key's requests per minute; see Retry-After",
}
SIGNING = (
    "Every operation is signed with an API key the store owner makes in the panel "
    "(Settings → Open API). Send `X-Wxdist-Key` (the key id), `X-Wxdist-Timestamp` (Unix "
    f"seconds, within {request_signing.WINDOW} s of the server), `X-Wxdist-Nonce` (16-64 "
    "of A-Z a-z 0-9 _ -, never reused) and `X-Wxdist-Signature: v1=<hex HMAC-SHA256>` "
    "keyed with the secret over the lines METHOD, PATH (with `?query` as sent), TIMESTAMP, "
    "NONCE and the hex SHA-256 of the body, joined by `\\n`."
)


def _ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    properties = model.model_json_schema()["properties"]
    return [
        {"name": name, "in": "query", "required": field.is_required(),
         "schema": properties[name]}
        for name, field in model.model_fields.items()
    ]  # fmt: skip


def _operation(name: str, view: Any, doc: dict[str, Any], components: dict[str, Any],
               error_ref: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    statuses = {401, 403, 429, *doc["errors"]}
    if doc["body"] is not None or doc["query"] is not None:
        statuses.add(400)
    if doc["body"] is not None:
        statuses.add(413)
    operation: dict[str, Any] = {
        "operationId": name,
        "summary": (view.__doc__ or "").strip().splitlines()[0],
        "description": (view.__doc__ or "").strip() + f"\n\nScope: `{doc['scope']}`.",
        "security": [{"signed": []}],
        "parameters": _parameters(doc["query"]),
        "responses": {
            str(doc["status"]): {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(doc["response"], components)}},
            },
            **{
                str(code): {"description": ERRORS[code],
                            "content": {"application/json": {"schema": error_ref}}}
                for code in sorted(statuses)
            },
        },
    }  # fmt: skip
    if doc["body"] is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(doc["body"], components)}},
        }
    return operation


def build(app: Flask) -> dict[str, Any]:
    components: dict[str, Any] = {}
    error_ref = _ref(schemas.ErrorOut, components)
    paths: dict[str, Any] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "open_doc", None)
        if doc is None or not rule.rule.startswith(PREFIX):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            name = rule.endpoint.replace(".", "_")
            paths.setdefault(rule.rule[len(PREFIX) :], {})[method.lower()] = _operation(
                name, view, doc, components, error_ref
            )
    codes = ("signature_missing", "unknown_key", "key_revoked", "stale_timestamp",
             "bad_signature", "replayed_nonce", "wrong_scope", "rate_limited",
             "request_id_reused", "stock_below_zero")  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wxdist open API",
            "version": "1",
            "description": SIGNING
            + "\n\nError codes:\n"
            + "\n".join(f"- `{c}`: {ERROR_CODES[c]}" for c in codes),
        },
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "signed": {"type": "apiKey", "in": "header", "name": request_signing.KEY}
            },
        },
    }
