"""Small helpers the page modules share: query arguments, pagination, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response, request, stream_with_context
from sqlalchemy import Select

from wxdist.core.extensions import db

PER_PAGE = 50
MAX_PAGE = 10_000


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


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def paginate(statement: Select[Any], per_page: int = PER_PAGE, scalars: bool = True) -> Page:
    """One page of `statement` (ordered by the caller) at ?page=, without counting every row:
    it fetches one row more than it shows to know whether a next page exists."""
    page = int_arg("page", 1, high=MAX_PAGE) or 1
    limited = statement.limit(per_page + 1).offset((page - 1) * per_page)
    rows = list(db.session.scalars(limited) if scalars else db.session.execute(limited))
    return Page(rows[:per_page], page, per_page, len(rows) > per_page)


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
    sign = "-" if amount < 0 else ""
    yuan, cents = divmod(abs(amount), 100)
    return f"{sign}{yuan}.{cents:02d}"


def client_ip() -> str:
    return request.remote_addr or ""


class AuditNote:
    """What `audited` yields: the view sets `after` once the service has acted."""

    def __init__(self) -> None:
        self.after: dict[str, Any] = {}
        self.target_id: object | None = None  # set when the target is created by the call


@contextmanager
def audited(
    action: str, target_type: str, target_id: object, before: dict[str, Any] | None = None
) -> Iterator[AuditNote]:
    """Audit one staff action. The entry joins the session before the service runs, so the
    service's own commit writes it with the change; `after` is filled in and committed
    once the service returns. If the service raises, its rollback drops the entry too."""
    from flask_login import current_user

    from wxdist.accounts.audit import dump_state, record

    staff = current_user._get_current_object()  # type: ignore[attr-defined]
    entry = record(staff, action, target_type, target_id, before=before, ip=client_ip())
    note = AuditNote()
    yield note
    entry.after_json = dump_state(note.after)
    if note.target_id is not None:
        entry.target_id = str(note.target_id)[:64]
    db.session.add(entry)
    db.session.commit()
