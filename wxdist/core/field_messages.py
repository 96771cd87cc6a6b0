"""A pydantic error as a field message in the reader's language.

Pydantic words its messages in English ("Input should be a valid integer"); the API says
what is wrong with a field in the request's language instead, chosen by the error's `type`
with the error's context (`min_length`, `ge`, ...) as placeholders. An error type not
listed here reads as a translated "invalid value"; `value_error` carries the validator's
own message (written with `_()` where it is raised).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it now."""
    return message


_INTEGER = N_("must be a whole number")
_NUMBER = N_("must be a number")
_ONE_OF = N_("must be one of %(expected)s")
_OBJECT = N_("must be an object")
_TEXT = N_("must be text")
_TRUE_FALSE = N_("must be true or false")
_DATE = N_("not a valid date or time")

# Pydantic's error type → the msgid said for it; placeholders name the error's context.
MESSAGES: dict[str, str] = {
    "missing": N_("required"),
    "missing_argument": N_("required"),
    "union_tag_not_found": N_("required"),
    "extra_forbidden": N_("unknown field"),
    "unexpected_keyword_argument": N_("unknown field"),
    "string_type": _TEXT,
    "string_sub_type": _TEXT,
    "string_unicode": _TEXT,
    "string_too_short": N_("at least %(min_length)s characters"),
    "string_too_long": N_("at most %(max_length)s characters"),
    "string_pattern_mismatch": N_("not in the expected form"),
    "too_short": N_("at least %(min_length)s items"),
    "too_long": N_("at most %(max_length)s items"),
    "greater_than": N_("must be greater than %(gt)s"),
    "greater_than_equal": N_("must be at least %(ge)s"),
    "less_than": N_("must be less than %(lt)s"),
    "less_than_equal": N_("must be at most %(le)s"),
    "multiple_of": N_("must be a multiple of %(multiple_of)s"),
    "int_type": _INTEGER,
    "int_parsing": _INTEGER,
    "int_from_float": _INTEGER,
    "int_parsing_size": N_("the number is too large"),
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "finite_number": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "bool_type": _TRUE_FALSE,
    "bool_parsing": _TRUE_FALSE,
    "literal_error": _ONE_OF,
    "enum": _ONE_OF,
    "union_tag_invalid": _ONE_OF,
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "list_type": N_("must be a list"),
    "json_invalid": N_("not valid JSON"),
    "json_type": N_("must be JSON text"),
    "url_type": N_("not a valid URL"),
    "url_parsing": N_("not a valid URL"),
    "url_scheme": N_("not a valid URL"),
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "datetime_type": _DATE,
    "datetime_parsing": _DATE,
    "datetime_from_date_parsing": _DATE,
    "time_type": _DATE,
    "time_parsing": _DATE,
}
INVALID = N_("invalid value")


def _expected(ctx: dict[str, Any]) -> str:
    """Pydantic's `'a', 'b' or 'c'` as a plain list `'a', 'b', 'c'` (no English "or")."""
    text = str(ctx.get("expected", ctx.get("expected_tags", "")))
    return text.replace("' or '", "', '")


def field_message(error: Any) -> str:
    """The message for one pydantic error (an item of `ValidationError.errors()`), in the
    current language."""
    kind = error.get("type", "")
    ctx = dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error") and ctx.get("error") is not None:
        return str(ctx["error"])
    msgid = MESSAGES.get(kind)
    if msgid is None:
        return _(INVALID)
    ctx["expected"] = _expected(ctx)
    try:
        return _(msgid, **ctx)
    except (KeyError, ValueError, TypeError):  # a context without the placeholder
        return _(INVALID)
