"""The merchant's SKU codes (商家编码): optional, unique, 1..64 letters, digits, `-`, `_`
or `.`. An ERP names SKUs by them in the open API.

Uniqueness is the database's (`uq_skus_code`); the checks here only name the field before
it is hit. MariaDB compares codes without case (`A-1` and `a-1` are one code there), SQLite
with case: a code taken in another case is refused by the constraint, reported the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.models import Sku

CODE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def clean(code: str | None) -> str | None:
    """The code as stored: stripped, None when blank."""
    code = (code or "").strip()
    return code or None


def format_error(code: str | None) -> str | None:
    """What is wrong with a (cleaned) code's form, or None."""
    if code is not None and CODE.fullmatch(code) is None:
        return _("1 to 64 letters, digits, - _ or .")
    return None


def taken_message() -> str:
    return _("another SKU already has this code")


def taken(codes: Iterable[str], except_sku_id: int | None = None) -> set[str]:
    """Those of `codes` another SKU (not `except_sku_id`) already has."""
    wanted = list(codes)
    if not wanted:
        return set()
    query = select(Sku.code).where(Sku.code.in_(wanted))
    if except_sku_id is not None:
        query = query.where(Sku.id != except_sku_id)
    found = {str(code).casefold() for code in db.session.scalars(query)}
    return {code for code in wanted if code.casefold() in found}


def errors(codes: list[str | None], names: list[str], except_sku_id: int | None = None) -> dict:
    """{field name: problem} for `codes` (cleaned; None: no code) named `names`: a bad form,
    a code given twice among them, or one another SKU has."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for code, name in zip(codes, names, strict=True):
        if code is None:
            continue
        problem = format_error(code)
        if problem is None and code.casefold() in seen:
            problem = _("given to two SKUs")
        if problem is not None:
            problems[name] = problem
        seen.add(code.casefold())
    checked = [c for c, n in zip(codes, names, strict=True) if c is not None and n not in problems]
    clash = taken(checked, except_sku_id)
    for code, name in zip(codes, names, strict=True):
        if code is not None and code in clash and name not in problems:
            problems[name] = taken_message()
    return problems
