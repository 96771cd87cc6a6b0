"""Reads of the API keys page."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.models import ApiKey


def keys() -> Sequence[ApiKey]:
    return db.session.scalars(select(ApiKey).order_by(ApiKey.id.desc())).all()


def key(key_pk: int) -> ApiKey | None:
    return db.session.get(ApiKey, key_pk)
