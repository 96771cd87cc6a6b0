"""Staff-defined customer tags and notes. Each change is audited by the caller's
`audited_action` (the panel) or writes its own entry; every function commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore
from wxdist.customers import stats
from wxdist.models import CustomerNote, CustomerStat, CustomerTag, User, UserTag
from wxdist.models.types import utcnow

MAX_TAG = 32
MAX_NOTE = 2000


def all_tags() -> list[tuple[CustomerTag, int]]:
    """Every tag with its number of customers, by name."""
    counts = dict(
        db.session.execute(select(UserTag.tag_id, func.count()).group_by(UserTag.tag_id))
        .tuples()
        .all()
    )
    tags = db.session.scalars(select(CustomerTag).order_by(CustomerTag.name)).all()
    return [(tag, counts.get(tag.id, 0)) for tag in tags]


def create_tag(name: str) -> CustomerTag:
    """A new tag; commits. Raises ApiError naming `name` (empty, too long), Conflict
    `tag_exists`."""
    name = (name or "").strip()
    if not name or len(name) > MAX_TAG:
        raise ApiError(
            _("a tag needs a name"),
            fields={"name": _("1 to %(count)s characters", count=MAX_TAG)},
        )
    tag = CustomerTag(name=name)
    db.session.add(tag)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _("a tag with that name exists"), code="tag_exists", fields={"name": _("taken")}
        ) from None
    return tag


def delete_tag(tag_id: int) -> None:
    """Delete a tag and take it off every customer; commits. Raises NotFound."""
    if db.session.get(CustomerTag, tag_id) is None:
        raise NotFound(_("no such tag"))
    db.session.execute(delete(UserTag).where(UserTag.tag_id == tag_id))
    db.session.execute(delete(CustomerTag).where(CustomerTag.id == tag_id))
    db.session.commit()


def _live_user(user_id: int, lock: bool = False) -> User:
    user = db.session.get(User, user_id, with_for_update=lock)
    if user is None or user.deleted_at is not None:
        raise NotFound(_("no such customer"))
    return user


def set_tags(user_id: int, tag_ids: list[int]) -> list[int]:
    """Make `tag_ids` the customer's tags (unknown ids ignored); commits. Returns the tag
    ids now held. Raises NotFound for an unknown or deleted customer."""
    # The user's row, then their figures, locked in the order attribution takes them, so
    # the copies written below cannot miss a payment being counted.
    _live_user(user_id, lock=True)
    stats.ensure([user_id])
    stat = db.session.get(CustomerStat, user_id, with_for_update=True, populate_existing=True)
    assert stat is not None
    known = set(db.session.scalars(select(CustomerTag.id).where(CustomerTag.id.in_(tag_ids))))
    db.session.execute(
        delete(UserTag).where(UserTag.user_id == user_id, UserTag.tag_id.not_in(known))
    )
    now = utcnow()
    for tag_id in sorted(known):
        insert_ignore(
            UserTag.__table__,
            user_id=user_id,
            tag_id=tag_id,
            tagged_at=now,
            created_at=stat.created_at,
            spend_fen=stat.spend_fen,
            last_order_at=stat.last_order_at,
        )
    db.session.commit()
    return sorted(known)


def add_note(user_id: int, body: str, staff_username: str) -> CustomerNote:
    """A staff note on a customer; commits. Raises ApiError naming `body`, NotFound."""
    body = (body or "").strip()
    if not body or len(body) > MAX_NOTE:
        raise ApiError(
            _("a note needs text"),
            fields={"body": _("1 to %(count)s characters", count=MAX_NOTE)},
        )
    _live_user(user_id)
    note = CustomerNote(user_id=user_id, body=body, staff_username=staff_username[:64])
    db.session.add(note)
    db.session.commit()
    return note
