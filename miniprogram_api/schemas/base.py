"""What every schema of the mini-program API builds on: strict requests (unknown fields
refused), integers as JSON and query strings carry them, names with a visible character,
responses read from attributes, pages and the error shape."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from annotated_types import Interval
from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from wxdist.core.clock import to_local
from wxdist.core.error_codes import ERROR_CODES
from wxdist.core.ids import MAX_ID

Text = Annotated[str, StringConstraints(strip_whitespace=True)]


_QUERY_INT = re.compile(r"-?[0-9]{1,20}")


def _query_int(value: Any) -> Any:
    """A query string's decimal digits as an int; anything else ("1.0", "1_0", " 1", "true")
    is left as it is for strict validation to refuse."""
    if isinstance(value, str) and _QUERY_INT.fullmatch(value):
        return int(value)
    return value


def _integral_number(value: Any) -> Any:
    """A JSON number with no fraction (`3.0`) is the integer 3, as JSON Schema counts it;
    strings and booleans are left for strict validation to refuse."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# Query parameters arrive as text: only plain decimal digits count as a number.
QueryInt = Annotated[int, BeforeValidator(_query_int)]


# A body's integers: JSON numbers without a fraction, never a string or a boolean.
JsonInt = Annotated[int, BeforeValidator(_integral_number)]


Id = Annotated[int, Interval(ge=1, le=MAX_ID), BeforeValidator(_integral_number)]


def bounded_json_int(ge: int, le: int) -> Any:
    """A body's integer within [ge, le], bounds kept in the document even as an optional
    field's type (`bounded_json_int(1, 9) | None`, where `Field(ge=…)` would not reach)."""
    return Annotated[int, Interval(ge=ge, le=le), BeforeValidator(_integral_number)]


PositiveFen = Id  # an amount of at least 1 fen (within a signed 64-bit column, as an id)


QueryId = Annotated[int, Interval(ge=1, le=MAX_ID), BeforeValidator(_query_int)]
QueryFen = Annotated[int, Interval(ge=0, le=MAX_ID), BeforeValidator(_query_int)]  # 0 allowed


@functools.cache
def visible_pattern() -> str:
    """A regex matching one character that shows on its own: one outside the separators and
    whitespace (Z*, Cc), format characters (Cf: zero-width spaces and joiners, bidi marks)
    and combining marks (M*). Built once from unicodedata, so the server and the document
    agree (no such character lies above U+E01EF)."""
    parts: list[str] = []
    start: int | None = None
    for cp in range(0xE01F1):
        category = unicodedata.category(chr(cp))
        invisible = category[0] in "MZ" or category in ("Cc", "Cf")
        if invisible and start is None:
            start = cp
        elif not invisible and start is not None:
            end = cp - 1
            parts.append(chr(start) if start == end else f"{chr(start)}-{chr(end)}")
            start = None
    if start is not None:
        parts.append(f"{chr(start)}-{chr(0xE01F0)}")
    return f"[^{''.join(parts)}]"


@functools.cache
def _visible() -> re.Pattern[str]:
    return re.compile(visible_pattern())


NOT_BLANK = r"\S"  # documents what stripping then min_length=1 enforce


def _visible_name(value: str) -> str:
    """Refuse a name made only of invisible characters: whitespace, zero-width and other
    format or control characters, combining marks alone. Empty passes (min_length decides)."""
    if value and not _visible().search(value):
        raise ValueError(_("must contain a visible character, not only invisible ones or marks"))
    return value


def _name_pattern(optional: bool) -> Callable[[dict[str, Any]], None]:
    def add(schema: dict[str, Any]) -> None:
        # blank: no name given (stripped to ""); else a visible character somewhere
        schema["pattern"] = rf"^\s*$|{visible_pattern()}" if optional else visible_pattern()

    return add


def Name(max_length: int, min_length: int = 1) -> Any:
    """A person's name: stripped, at most max_length characters, with a visible character
    (or blank, when min_length is 0)."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_visible_name),
        Field(json_schema_extra=_name_pattern(optional=min_length == 0)),
    ]


def Required(max_length: int) -> Any:
    """Text that must not be blank: stripped, 1..max_length characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        Field(json_schema_extra={"pattern": NOT_BLANK}),
    ]


class Strict(BaseModel):
    """A request schema: unknown fields are refused, and types are strict (a string or a
    boolean is never a number, a number never a string)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def shanghai_iso(value: datetime | None) -> str | None:
    """Stored naive UTC shown as Asia/Shanghai ISO 8601."""
    if value is None:
        return None
    return to_local(value).isoformat(timespec="seconds")


class PageQuery(Strict):
    page: QueryInt = Field(1, ge=1, le=10_000)
    per_page: QueryInt = Field(20, ge=1, le=50)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Paged(Out):
    page: int
    per_page: int
    total: int


class ErrorDetail(BaseModel):
    code: str = Field(
        description="What went wrong, for programs: the stable contract (the document's "
        "description says what each code means). It never changes with the language.",
        json_schema_extra={"enum": sorted(ERROR_CODES)},
    )
    message: str = Field(
        description="For people, in the language of Accept-Language (zh-CN default, en); "
        "never parse it."
    )
    fields: dict[str, str] = Field(
        description="Each field at fault (dotted, e.g. `items.0.quantity`) with what is "
        "wrong with it, in the language of `message`."
    )
    data: dict[str, int] | None = Field(
        None,
        description="Facts a program acts on, present with some codes only: "
        "`price_changed` carries the new `payable_fen`; adding to the cart past the stock "
        "(`out_of_stock`, `too_many`) carries `available`.",
    )


class ErrorOut(BaseModel):
    error: ErrorDetail
