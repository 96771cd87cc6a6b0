"""The merchant's template overrides: one JSON record per kind over the defaults, read,
changed (`flask poster template set KIND key=value …`) and reset; a background picture
given as a file is copied into the media storage.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.core.media import hashed_key, storage
from wxdist.models import PosterTemplateRecord
from wxdist.models.types import utcnow
from wxdist.sharing.posters.templates import (
    DEFAULTS,
    PosterTemplate,
    apply_changes,
    parse_overrides,
)

log = logging.getLogger(__name__)


def _overrides(kind: str) -> dict[str, Any]:
    record = db.session.get(PosterTemplateRecord, kind)
    return parse_overrides(record.data if record is not None else None)


@functools.lru_cache(maxsize=64)
def template_from_record(kind: str, raw: str | None) -> PosterTemplate:
    """The template for a stored record's text (parsed once per distinct text); the
    defaults when the stored overrides no longer check."""
    try:
        return apply_changes(DEFAULTS[kind], parse_overrides(raw))
    except ApiError:  # a stored override the code no longer knows: use the defaults
        log.warning("ignoring invalid stored overrides of the %s poster template", kind)
        return DEFAULTS[kind]


def _unknown_kind() -> ApiError:
    return ApiError(_("unknown poster kind"), fields={"kind": _("invite or product")})


def get_template(kind: str) -> PosterTemplate:
    """The template in force. Raises ApiError for an unknown kind."""
    if kind not in DEFAULTS:
        raise _unknown_kind()
    record = db.session.get(PosterTemplateRecord, kind)
    return template_from_record(kind, record.data if record is not None else None)


def set_template(kind: str, changes: dict[str, Any]) -> PosterTemplate:
    """Merge `changes` (dotted keys) into the kind's overrides; commits. A
    `background_image` given as a file path is copied into the media storage. Every poster
    of that kind is redrawn on its next request (the content key holds the template).
    Raises ApiError for an unknown kind, key or value, or a background that is no image."""
    if kind not in DEFAULTS:
        raise _unknown_kind()
    changes = dict(changes)
    image = changes.get("background_image")
    if image:
        changes["background_image"] = _store_background(str(image))
    merged = {**_overrides(kind), **changes}
    template = apply_changes(DEFAULTS[kind], merged)
    record = db.session.get(PosterTemplateRecord, kind)
    if record is None:
        record = PosterTemplateRecord(kind=kind)
        db.session.add(record)
    record.data = json.dumps(merged, ensure_ascii=False, sort_keys=True)
    record.updated_at = utcnow()
    db.session.commit()
    return template


def reset_template(kind: str) -> PosterTemplate:
    """Drop the kind's overrides (commits); the defaults. Raises ApiError for an unknown kind."""
    record = db.session.get(PosterTemplateRecord, kind)
    if record is not None:
        db.session.delete(record)
        db.session.commit()
    return get_template(kind)


def _store_background(path_or_key: str) -> str:
    """The media key of a background picture: a stored key as is, a file copied in.
    Raises ApiError when it is neither, or not an image."""
    path = Path(path_or_key)
    if not path.is_file():
        if storage().exists(path_or_key):
            return path_or_key
        raise ApiError(_("no such image file"), fields={"background_image": _("a readable file")})
    data = path.read_bytes()
    try:
        Image.open(io.BytesIO(data)).verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ApiError(_("not an image"), fields={"background_image": _("PNG or JPEG")}) from None
    key = hashed_key("templates", hashlib.sha256(data).hexdigest(), "img")
    storage().put(key, data)
    return key
