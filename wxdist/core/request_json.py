"""Request bodies decoded as JSON within bounds, before any view sees them.

`BoundedJSONRequest` is the app's request class: `request.get_json()` goes through
`loads_bounded`, which refuses (ValueError, so Flask treats it as malformed JSON) a body
nested deeper than `MAX_JSON_DEPTH`, one the decoder cannot nest that deep (RecursionError),
the non-standard constants NaN and Infinity, and strings with lone surrogates (which no
database column can store). The size is bounded by MAX_CONTENT_LENGTH (413) already.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request

MAX_JSON_DEPTH = 32  # our deepest schema nests three levels (order → items → line)
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONDepthError(ValueError):
    """The body nests arrays or objects deeper than MAX_JSON_DEPTH."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_bounded(data: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON text. Raises ValueError for malformed JSON, NaN/Infinity, lone
    surrogates, or nesting deeper than `max_depth` (JSONDepthError)."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise JSONDepthError(f"nested deeper than {max_depth} levels") from None
    _check(value, max_depth)
    return value


def _check(value: Any, max_depth: int) -> None:
    """Walk the decoded value without recursion; raise ValueError if it is too deep or
    holds a lone surrogate."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ValueError("a string holds a lone surrogate")
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise JSONDepthError(f"nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


class _BoundedJSON:
    """What Flask's Request needs of a json module: `loads` (bounded) and `dumps`."""

    @staticmethod
    def loads(data: str | bytes, **kwargs: Any) -> Any:
        return loads_bounded(data)

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        from flask import json as flask_json

        return flask_json.dumps(obj, **kwargs)


class BoundedJSONRequest(Request):
    """Flask's request, whose `get_json()` decodes within the bounds above."""

    json_module = _BoundedJSON
