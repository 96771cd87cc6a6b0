"""The list of error codes (wxdist/core/error_codes.py) cannot rot: every `code="..."` the
source raises, every ApiError class's default code and every HTTP error's code is in it,
the OpenAPI document offers exactly the list, and every answer the API gives names one."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import default_exceptions

from wxdist.core import errors
from wxdist.core.error_codes import ERROR_CODES, HTTP_CODES, SERVICE_CODES, http_code

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("wxdist", "miniprogram_api")
ERROR_CLASSES = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.ApiError)
}


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _module_dicts(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level `NAME = {...: "code", ...}`: the string values by name."""
    found: dict[str, list[str]] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict):
            found[target.id] = [
                v.value
                for v in node.value.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            ]
    return found


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _codes_raised() -> dict[str, str]:
    """Each code passed as `code=` in the source, with where; fails on a code it cannot
    read (an f-string or an expression) given to an ApiError class."""
    found: dict[str, str] = {}
    unreadable: list[str] = []
    for path, tree in _modules():
        dicts = _module_dicts(tree)
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _call_name(node) in ("_", "gettext"):
                continue
            for keyword in node.keywords:
                if keyword.arg != "code":
                    continue
                value = keyword.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found[value.value] = f"{where}:{node.lineno}"
                elif (
                    isinstance(value, ast.Subscript)
                    and isinstance(value.value, ast.Name)
                    and value.value.id in dicts
                ):
                    for code in dicts[value.value.id]:
                        found[code] = f"{where}:{node.lineno}"
                elif _call_name(node) in ERROR_CLASSES and not isinstance(value, ast.Name):
                    unreadable.append(f"{where}:{node.lineno}: {ast.unparse(value)}")
    assert not unreadable, f"codes the list cannot follow (use a literal): {unreadable}"
    return found


def test_the_scan_finds_the_codes_it_should() -> None:
    """The scan itself works: it sees codes passed in several ways."""
    raised = _codes_raised()
    for code in ("out_of_stock", "insufficient_balance", "picture_too_large", "already_disabled"):
        assert code in raised, code
    assert "invalid" in raised and "internal_error" in raised  # the handlers' own


def test_every_code_the_source_raises_is_listed() -> None:
    missing = {code: where for code, where in _codes_raised().items() if code not in ERROR_CODES}
    assert not missing, f"add these to wxdist/core/error_codes.py: {missing}"


def test_every_error_class_default_code_is_listed() -> None:
    for name in ERROR_CLASSES:
        code = getattr(errors, name).code
        assert code in SERVICE_CODES, f"{name}.code = {code!r} is not in SERVICE_CODES"


def test_every_http_error_has_a_listed_code() -> None:
    for status in default_exceptions:
        assert status in HTTP_CODES, f"HTTP {status} has no code in HTTP_CODES"
        assert http_code(status) in ERROR_CODES
    assert http_code(599) in ERROR_CODES  # any other status


def test_every_listed_code_says_what_it_means() -> None:
    for code, meaning in ERROR_CODES.items():
        assert code.isascii() and code == code.lower() and " " not in code, code
        assert meaning.strip(), code


def test_no_code_is_listed_that_nothing_answers() -> None:
    """The service list holds only codes the source raises (or the classes' defaults)."""
    raised = set(_codes_raised()) | {getattr(errors, name).code for name in ERROR_CLASSES}
    stale = set(SERVICE_CODES) - raised
    assert not stale, f"listed but never raised: {stale}"


def test_the_openapi_document_lists_the_codes(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert sorted(detail["properties"]["code"]["enum"]) == sorted(ERROR_CODES)
    assert "Accept-Language (zh-CN default, en)" in detail["properties"]["message"]["description"]
    description = spec["info"]["description"]
    for code in ("out_of_stock", "insufficient_balance", "not_found", "method_not_allowed"):
        assert f"- `{code}`: {ERROR_CODES[code]}" in description
