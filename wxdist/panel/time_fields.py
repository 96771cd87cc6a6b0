"""Form fields for moments and id lists: a Shanghai date and time as staff type it (an
`<input type="datetime-local">`), held as naive UTC; a list of ids typed with commas,
spaces or new lines."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from wxdist.core.clock import from_local, to_local
from wxdist.panel.decimal_fields import REQUIRED

_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
FIRST, LAST = datetime(2000, 1, 1), datetime(9000, 1, 1)
ID_MAX = 2**63 - 1


class LocalTimeField(StringField):
    """A Shanghai wall-clock time ('2026-12-12T20:00'), held as naive UTC."""

    unit_error = _l("a date and time, e.g. 2026-12-12 20:00")

    def __init__(self, label: str | None = None, *, optional: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"type": "datetime-local"})
        super().__init__(label, **kwargs)
        self.optional = optional

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return to_local(self.data).strftime("%Y-%m-%dT%H:%M") if self.data else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = ((valuelist[0] if valuelist else "") or "").strip()
        self.data = None
        if not text:
            if not self.optional:
                raise ValueError(REQUIRED)
            return
        for pattern in _FORMATS:
            try:
                local = datetime.strptime(text, pattern)
            except ValueError:
                continue
            if FIRST <= local <= LAST:
                self.data = from_local(local)
                return
        raise ValueError(self.unit_error)

    def pre_validate(self, form: Any) -> None:
        if self.data is None and not self.optional and not self.process_errors:
            raise ValidationError(REQUIRED)


_SEPARATORS = re.compile(r"[\s,，、;；]+")


def parse_ids(text: str) -> tuple[list[int], list[str]]:
    """Ids typed with commas, spaces or new lines: (the ids in order without repeats, the
    pieces that are not ids)."""
    ids: list[int] = []
    wrong: list[str] = []
    for piece in _SEPARATORS.split(text.strip()):
        if not piece:
            continue
        if piece.isascii() and piece.isdigit() and 1 <= int(piece) <= ID_MAX:
            ids.append(int(piece))
        else:
            wrong.append(piece)
    return list(dict.fromkeys(ids)), wrong


class IdListField(StringField):
    """Ids typed with commas or spaces ('12, 15 18'), held as a list of ints ([] when
    blank); at most `most` of them."""

    def __init__(self, label: str | None = None, *, most: int = 200, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.most = most

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(str(i) for i in self.data or [])

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids, wrong = parse_ids((valuelist[0] if valuelist else "") or "")
        self.data = ids
        if wrong:
            raise ValueError(
                _(
                    "ids are whole numbers separated by commas or spaces; not: %(wrong)s",
                    wrong=" ".join(wrong[:5]),
                )
            )
        if len(ids) > self.most:
            raise ValueError(_("at most %(most)s ids", most=self.most))


class IdTextField(IdListField, TextAreaField):
    """An `IdListField` typed in a text area (one id per line, or many per line)."""
