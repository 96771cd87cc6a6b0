"""The customer list and detail (read only): filters, keyset pages, a capped count.

See the package docstring for which index serves which filter and sort.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from wxdist.core.extensions import db
from wxdist.models import (
    Coupon,
    CouponStatus,
    CouponTemplate,
    CustomerNote,
    CustomerStat,
    CustomerTag,
    Order,
    User,
    UserTag,
)
from wxdist.models.types import utcnow

PER_PAGE = 20
COUNT_CAP = 10_000  # the total is counted this far, then shown as "10000+"
SORTS = ("last_order", "spend", "newest")
_SORT_COLUMN = {
    "last_order": CustomerStat.last_order_at,
    "spend": CustomerStat.spend_fen,
    "newest": CustomerStat.created_at,
}


@dataclass(frozen=True)
class CustomerFilter:
    """What the staff filter on; every field optional. Times are UTC; fen are integers;
    the ranges include both ends."""

    tag_id: int | None = None
    source_id: int | None = None
    spend_min_fen: int | None = None
    spend_max_fen: int | None = None
    last_order_from: datetime | None = None
    last_order_to: datetime | None = None
    sort: str = "last_order"

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CustomerFilter:
        """The filter `to_json` wrote. Raises ValueError for anything else."""
        raw = json.loads(text) if text else {}
        if not isinstance(raw, dict) or set(raw) - set(cls.__dataclass_fields__):
            raise ValueError("not a customer filter")
        values: dict[str, Any] = {}
        for key in ("tag_id", "source_id", "spend_min_fen", "spend_max_fen"):
            value = raw.get(key)
            if value is not None and (type(value) is not int or not 0 <= value < 2**63):
                raise ValueError(f"{key} is not an id or an amount")
            values[key] = value
        for key in ("last_order_from", "last_order_to"):
            value = raw.get(key)
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
            if moment is not None and (moment.tzinfo is not None or not 1970 <= moment.year < 9999):
                raise ValueError(f"{key} is out of range")
            values[key] = moment
        values["sort"] = raw.get("sort", "last_order")
        if values["sort"] not in SORTS:
            raise ValueError("unknown sort")
        return cls(**values)


_TAG_SORT_COLUMN = {
    "last_order": UserTag.last_order_at,
    "spend": UserTag.spend_fen,
    "newest": UserTag.created_at,
}


def _keys(flt: CustomerFilter) -> tuple[dict[str, Any], Any]:
    """The sort columns and the user id column the filter's index range walks: the tag's
    copies of the figures with a tag, the figures' own otherwise."""
    if flt.tag_id is not None:
        return _TAG_SORT_COLUMN, UserTag.user_id
    return _SORT_COLUMN, CustomerStat.user_id


def matching(flt: CustomerFilter) -> Select[Any]:
    """SELECT of the matching customers' stats rows (no order)."""
    columns, _user_id = _keys(flt)
    query = select(CustomerStat)
    if flt.tag_id is not None:
        query = query.join(
            UserTag, and_(UserTag.user_id == CustomerStat.user_id, UserTag.tag_id == flt.tag_id)
        )
    spend, last_order = columns["spend"], columns["last_order"]
    if flt.source_id is not None:
        query = query.where(CustomerStat.source_id == flt.source_id)
    if flt.spend_min_fen is not None:
        query = query.where(spend >= flt.spend_min_fen)
    if flt.spend_max_fen is not None:
        query = query.where(spend <= flt.spend_max_fen)
    if flt.last_order_from is not None:
        query = query.where(last_order >= flt.last_order_from)
    if flt.last_order_to is not None:
        query = query.where(last_order <= flt.last_order_to)
    return query


@dataclass
class CustomerRow:
    user_id: int
    nickname: str
    phone: str | None
    blocked: bool
    deleted: bool
    source_id: int | None
    source_name: str
    channel: str
    orders: int
    spend_fen: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    created_at: datetime
    coupons_held: int = 0
    tags: list[str] = field(default_factory=list)


@dataclass
class CustomerPage:
    rows: list[CustomerRow]
    total: int
    total_capped: bool  # at least `total` match
    next_cursor: str | None


def _cursor(sort: str, stat: CustomerStat) -> str:
    value = getattr(stat, _SORT_COLUMN[sort].key)
    text = "" if value is None else (value.isoformat() if sort != "spend" else str(value))
    return f"{text}~{stat.user_id}"


def _after(column: Any, user_id: Any, numeric: bool, cursor: str) -> Any:
    """The WHERE of the rows after `cursor` in (sort value desc, user id desc), NULL last."""
    text, _, last_id = cursor.rpartition("~")
    uid = int(last_id)
    value: Any = None
    if text != "":
        value = int(text) if numeric else datetime.fromisoformat(text)
    if isinstance(value, datetime) and (value.tzinfo is not None or not 1970 <= value.year < 9999):
        raise ValueError("cursor time out of range")
    if not 0 <= uid < 2**63 or (isinstance(value, int) and not -(2**63) <= value < 2**63):
        raise ValueError("cursor out of range")
    if value is None:
        return and_(column.is_(None), user_id < uid)
    return or_(column < value, and_(column == value, user_id < uid), column.is_(None))


def _counted(flt: CustomerFilter) -> Any:
    """The matching user ids, at most COUNT_CAP + 1 (a subquery to count). A tag without a
    source is counted on the tag's copies alone, an index range of `user_tags` that reads
    no stats row (every tagged customer has one: tags are set after `stats.ensure`); at
    1,000,000 customers the join read 10,000 stats rows per count (bench/insight.py)."""
    if flt.tag_id is None or flt.source_id is not None:
        query = matching(flt).with_only_columns(CustomerStat.user_id)
    else:
        columns = _TAG_SORT_COLUMN
        query = select(UserTag.user_id).where(UserTag.tag_id == flt.tag_id)
        for column, bound, low in (
            (columns["spend"], flt.spend_min_fen, True),
            (columns["spend"], flt.spend_max_fen, False),
            (columns["last_order"], flt.last_order_from, True),
            (columns["last_order"], flt.last_order_to, False),
        ):
            if bound is not None:
                query = query.where(column >= bound if low else column <= bound)
    return query.limit(COUNT_CAP + 1).subquery()


def page(flt: CustomerFilter, cursor: str | None = None, per_page: int = PER_PAGE) -> CustomerPage:
    """One page of the matching customers in `flt.sort` order (descending), after `cursor`
    (a page's `next_cursor`). Raises ValueError for an unknown sort or a bad cursor."""
    if flt.sort not in SORTS:
        raise ValueError(f"unknown sort {flt.sort!r}")
    columns, user_id = _keys(flt)
    column = columns[flt.sort]
    query = matching(flt)
    total = db.session.scalar(select(func.count()).select_from(_counted(flt))) or 0
    if cursor:
        query = query.where(_after(column, user_id, flt.sort == "spend", cursor))
    # NULL (no order yet) sorts last descending on both SQLite and MariaDB.
    stats = list(
        db.session.scalars(query.order_by(column.desc(), user_id.desc()).limit(per_page + 1))
    )
    more = len(stats) > per_page
    stats = stats[:per_page]
    return CustomerPage(
        rows=_rows(stats),
        total=min(total, COUNT_CAP),
        total_capped=total > COUNT_CAP,
        next_cursor=_cursor(flt.sort, stats[-1]) if more and stats else None,
    )


def _rows(stats: list[CustomerStat]) -> list[CustomerRow]:
    """The page's rows with the user, source, tags and coupons held (one query each)."""
    ids = [s.user_id for s in stats]
    if not ids:
        return []
    source_ids = {s.source_id for s in stats if s.source_id}
    users = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_(set(ids) | source_ids)))
    }
    tags: dict[int, list[str]] = {}
    for user_id, name in db.session.execute(
        select(UserTag.user_id, CustomerTag.name)
        .join(CustomerTag, CustomerTag.id == UserTag.tag_id)
        .where(UserTag.user_id.in_(ids))
        .order_by(CustomerTag.name)
    ):
        tags.setdefault(user_id, []).append(name)
    held = dict(
        db.session.execute(
            select(Coupon.user_id, func.count())
            .where(
                Coupon.user_id.in_(ids),
                Coupon.status == CouponStatus.UNUSED,
                Coupon.valid_until > utcnow(),
            )
            .group_by(Coupon.user_id)
        )
        .tuples()
        .all()
    )
    rows = []
    for s in stats:
        user = users[s.user_id]
        source = users.get(s.source_id) if s.source_id else None
        rows.append(
            CustomerRow(
                user_id=s.user_id,
                nickname=user.nickname,
                phone=user.phone,
                blocked=user.blocked_at is not None,
                deleted=user.deleted_at is not None,
                source_id=s.source_id,
                source_name=source.nickname if source else "",
                channel=s.channel,
                orders=s.orders,
                spend_fen=s.spend_fen,
                first_order_at=s.first_order_at,
                last_order_at=s.last_order_at,
                created_at=s.created_at,
                coupons_held=held.get(s.user_id, 0),
                tags=tags.get(s.user_id, []),
            )
        )
    return rows


@dataclass
class CustomerDetail:
    row: CustomerRow
    user: User
    orders: list[Order]
    coupons: list[tuple[Coupon, str]]
    notes: list[CustomerNote]
    tag_ids: list[int]


def detail(user_id: int) -> CustomerDetail | None:
    """A customer's page: the list's row, the latest orders, coupons, notes, tag ids."""
    stat = db.session.get(CustomerStat, user_id)
    if stat is None:
        return None
    (row,) = _rows([stat])
    orders = list(
        db.session.scalars(
            select(Order).where(Order.user_id == user_id).order_by(Order.id.desc()).limit(20)
        )
    )
    coupons = [
        (c, name)
        for c, name in db.session.execute(
            select(Coupon, CouponTemplate.name)
            .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
            .where(Coupon.user_id == user_id)
            .order_by(Coupon.id.desc())
            .limit(50)
        )
        .tuples()
        .all()
    ]
    notes = list(
        db.session.scalars(
            select(CustomerNote)
            .where(CustomerNote.user_id == user_id)
            .order_by(CustomerNote.id.desc())
        )
    )
    tag_ids = list(db.session.scalars(select(UserTag.tag_id).where(UserTag.user_id == user_id)))
    return CustomerDetail(row, db.session.get(User, user_id), orders, coupons, notes, tag_ids)  # type: ignore[arg-type]
