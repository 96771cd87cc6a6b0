"""Small helpers the page modules share: query arguments, the page number, CSV export,
auditing a staff action, nested form rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask import Response, request, stream_with_context
from flask_wtf.i18n import translations
from wtforms import Form

from wxdist.accounts.audit import AuditNote, audited_action
from wxdist.core.money import yuan_text

MAX_PAGE = 10_000


class SubForm(Form):
    """A row of fields nested in a panel form (`FormField`): WTForms' own messages ("This
    field is required.", "Not a valid integer value."...) in the request's language, as
    every `FlaskForm` has them (Flask-WTF's translations follow Flask-Babel's locale)."""

    class Meta:
        def get_translations(self, form: Form) -> Any:
            return translations


def int_arg(name: str, default: int | None = None, low: int = 1, high: int = 2**62) -> int | None:
    """An integer query argument, or `default` when absent or malformed (never a 500)."""
    raw = request.args.get(name, "").strip()
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if low <= value <= high else default


def choice_arg(name: str, choices: Iterable[str]) -> str:
    """A query argument limited to `choices` ('' when absent or anything else)."""
    value = request.args.get(name, "").strip()
    return value if value in set(choices) else ""


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def day_arg(name: str) -> date | None:
    """A YYYY-MM-DD query argument (a Shanghai day), or None when absent, malformed or out
    of range (day 1 and day 9999-12-31 have no UTC start, or no next day, to compare with)."""
    try:
        day = date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def page_arg() -> int:
    """The ?page= number (1 when absent, malformed or beyond MAX_PAGE)."""
    return int_arg("page", 1, high=MAX_PAGE) or 1


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Response:
    """Stream a CSV download (UTF-8 with BOM, so Excel shows Chinese names)."""

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def fen_text(amount: int) -> str:
    """Fen as a plain decimal for CSV cells: 12345 → '123.45'."""
    return yuan_text(amount, symbol="")


def client_ip() -> str:
    return request.remote_addr or ""


@contextmanager
def audited(
    action: str, target_type: str, target_id: object, before: dict[str, Any] | None = None
) -> Iterator[AuditNote]:
    """Audit one action of the signed-in staff member (see `accounts.audit.audited_action`:
    committed with the change; rolled back, entry and all, if the block raises)."""
    from flask_login import current_user

    staff = current_user._get_current_object()  # type: ignore[attr-defined]
    with audited_action(staff, action, target_type, target_id, before, client_ip()) as note:
        yield note
