"""The customers' part of deletion and export: tags and notes are personal data, so a
deleted account loses both; the export lists the person's tags (notes are the staff's own
working notes and are not exported)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from wxdist.core.extensions import db
from wxdist.models import CustomerNote, CustomerTag, UserTag


def anonymise(user_id: int) -> None:
    """Inside the deletion's transaction: drop the person's tags and notes."""
    db.session.execute(delete(UserTag).where(UserTag.user_id == user_id))
    db.session.execute(delete(CustomerNote).where(CustomerNote.user_id == user_id))


def export(user_id: int) -> dict[str, Any]:
    names = db.session.scalars(
        select(CustomerTag.name)
        .join(UserTag, UserTag.tag_id == CustomerTag.id)
        .where(UserTag.user_id == user_id)
        .order_by(CustomerTag.name)
    ).all()
    return {"customer_tags": list(names)}
