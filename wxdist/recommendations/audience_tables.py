"""A refresh's per-distributor signals (what their audience bought, how their share codes
convert) from temporary tables built once per refresh, on a connection of its own.

Asked per batch of distributors straight from `orders`, these signals follow each audience
member to their orders and lines one index lookup at a time: at 5,000,000 order lines and a
buffer pool smaller than the data, nearly every lookup is a disk read and one batch of
1,000 distributors took over 11 minutes. Here each source table is read once, in key
order, into small tables:

- `tmp_user_products (user_id, product_id)`: every (buyer, product) of the window's paid
  lines not wholly refunded, distinct: one scan of `orders` joined to `order_items` (the
  lines of consecutive orders are adjacent in `order_items`' key);
- `tmp_audience (distributor_id, user_id)`: each approved distributor's audience (buyers
  bound to them before `as_of`, and buyers of paid orders attributed to them), never the
  distributor themself;
- `tmp_scans (distributor_id, product_id, scans)` and `tmp_channel_orders
  (distributor_id, product_id, orders)`: the scans of each distributor's share codes per
  product, and their attributed paid orders holding each product (one more scan);

and a batch is two reads of these by distributor. On MariaDB the tables are MEMORY tables
(the session's `max_heap_table_size` raised to `HEAP_BYTES`, ~300 MB at 5,000,000 lines),
so a batch's join never touches the disk, and the connection reads at READ COMMITTED, so
the INSERT ... SELECTs take no shared locks on `orders` and checkouts go on during the build.
Temporary tables belong to their connection: two refreshes never see each other's, and
leaving drops them before the connection goes back to the pool (or, if that fails,
discards the connection).

Can fail with the database's own errors (a MEMORY table past `HEAP_BYTES` raises "table is
full"); the connection is closed either way.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Select,
    Table,
    and_,
    func,
    insert,
    or_,
    select,
    text,
)

from wxdist.core.extensions import db
from wxdist.models import Distributor, DistributorStatus, Order, OrderItem, Referral, ShareCode
from wxdist.models.types import BigId
from wxdist.recommendations.signals import Window, line_kept, paid

HEAP_BYTES = 4 * 1024**3  # a cap per MEMORY table, not an allocation

_tables = MetaData()


def _temporary(name: str, *columns: Column[Any], key: tuple[str, ...]) -> Table:
    return Table(
        name, _tables, *columns, PrimaryKeyConstraint(*key, mysql_using="btree"),
        prefixes=["TEMPORARY"], mysql_engine="MEMORY",
    )  # fmt: skip


def _id(name: str) -> Column[Any]:
    return Column(name, BigId, nullable=False)


USER_PRODUCTS = _temporary(
    "tmp_user_products", _id("user_id"), _id("product_id"), key=("user_id", "product_id")
)
AUDIENCE = _temporary(
    "tmp_audience", _id("distributor_id"), _id("user_id"), key=("distributor_id", "user_id")
)
SCANS = _temporary(
    "tmp_scans", _id("distributor_id"), _id("product_id"),
    Column("scans", Integer, nullable=False), key=("distributor_id", "product_id"),
)  # fmt: skip
CHANNEL_ORDERS = _temporary(
    "tmp_channel_orders", _id("distributor_id"), _id("product_id"),
    Column("orders", Integer, nullable=False), key=("distributor_id", "product_id"),
)  # fmt: skip
Index("ix_tmp_audience_user", AUDIENCE.c.user_id, mysql_using="btree")


def _distinct_insert(table: Table, query: Select[Any]) -> Any:
    """INSERT ... SELECT that skips rows whose key is already in `table`."""
    return (
        insert(table)
        .from_select(list(table.c.keys()), query)
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("OR IGNORE", dialect="sqlite")
    )


def _approved(on: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(on, Distributor.status == DistributorStatus.APPROVED)


def _in_order(query: Select[Any]) -> Select[Any]:
    """Join in the order written: orders first, then their lines by `order_id` (MariaDB
    would otherwise start from the smaller-looking side and look orders up one by one);
    a batch's audience first, then what each member bought (else it scans every
    member's purchases per batch)."""
    return query.prefix_with("STRAIGHT_JOIN", dialect="mysql")


def _among(column: Any, ids: set[int]) -> ColumnElement[bool]:
    """`column` between the least and the greatest of `ids`: a range of the tables' primary
    key (the refresh's batches are runs of consecutive distributors; the caller drops any
    other in the range). An IN list of a thousand would not do: MariaDB turns one that long
    into a derived table and scans the audience instead of ranging over it."""
    return column.between(min(ids), max(ids))


class AudienceTables:
    """The temporary tables of one refresh. Use as a context manager: entering builds them
    (seconds per table in `seconds`), leaving drops them and gives the connection back."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.seconds: dict[str, float] = {}
        self._connection: Connection | None = None

    def __enter__(self) -> AudienceTables:
        connection = db.engine.connect()
        if connection.dialect.name == "mysql":
            connection = connection.execution_options(isolation_level="READ COMMITTED")
        self._connection = connection
        try:
            if connection.dialect.name == "mysql":
                connection.execute(text("SET SESSION max_heap_table_size = :b"), {"b": HEAP_BYTES})
            self._build(connection)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.rollback()
            _tables.drop_all(connection, checkfirst=True)
            if connection.dialect.name == "mysql":
                connection.execute(text("SET SESSION max_heap_table_size = DEFAULT"))
            connection.commit()
        except BaseException:
            connection.invalidate()  # the pool must not hand its tables to anyone else
            raise
        finally:
            connection.close()

    def _build(self, connection: Connection) -> None:
        _tables.create_all(connection, checkfirst=False)
        for name, statement in self._statements():
            started = time.monotonic()
            connection.execute(statement)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started
        connection.commit()  # end the read: SQLite's writer must not wait on it

    def _statements(self) -> list[tuple[str, Any]]:
        window = self.window
        lines = _in_order(
            select(Order.user_id, OrderItem.product_id)
            .select_from(Order)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .where(paid(window), line_kept())
        )
        bound = _in_order(
            select(Referral.parent_id, Referral.user_id)
            .join(Distributor, _approved(Distributor.user_id == Referral.parent_id))
            .where(
                Referral.user_id != Referral.parent_id,
                or_(Referral.bound_at.is_(None), Referral.bound_at < window.as_of),
            )
        )
        attributed = _in_order(
            select(Order.referrer_l1_id, Order.user_id)
            .join(Distributor, _approved(Distributor.user_id == Order.referrer_l1_id))
            .where(Order.user_id != Order.referrer_l1_id, paid(window))
        )
        scans = (
            select(ShareCode.distributor_id, ShareCode.product_id, func.sum(ShareCode.scans))
            .join(Distributor, _approved(Distributor.user_id == ShareCode.distributor_id))
            .where(ShareCode.product_id.is_not(None))
            .group_by(ShareCode.distributor_id, ShareCode.product_id)
        )
        channel_orders = _in_order(
            select(Order.referrer_l1_id, OrderItem.product_id, func.count(func.distinct(Order.id)))
            .select_from(Order)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .where(Order.referrer_l1_id.is_not(None), paid(window), line_kept())
            .group_by(Order.referrer_l1_id, OrderItem.product_id)
        )
        return [
            ("user_products", _distinct_insert(USER_PRODUCTS, lines)),
            ("audience", _distinct_insert(AUDIENCE, bound)),
            ("audience", _distinct_insert(AUDIENCE, attributed)),
            ("channels", insert(SCANS).from_select(list(SCANS.c.keys()), scans)),
            ("channels", insert(CHANNEL_ORDERS).from_select(
                list(CHANNEL_ORDERS.c.keys()), channel_orders)),
        ]  # fmt: skip

    def _read(self, query: Select[Any]) -> list[Any]:
        assert self._connection is not None, "use AudienceTables as a context manager"
        rows = self._connection.execute(query).all()
        self._connection.commit()
        return rows

    def bought(self, distributor_ids: Sequence[int]) -> dict[int, dict[int, int]]:
        """distributor -> product -> how many of their audience bought it in the window."""
        if not distributor_ids:
            return {}
        a, up = AUDIENCE, USER_PRODUCTS
        wanted = set(distributor_ids)
        rows = self._read(
            _in_order(
                select(a.c.distributor_id, up.c.product_id, func.count())
                .select_from(a)
                .join(up, up.c.user_id == a.c.user_id)
                .where(_among(a.c.distributor_id, wanted))
                .group_by(a.c.distributor_id, up.c.product_id)
            )
        )
        found: dict[int, dict[int, int]] = defaultdict(dict)
        for distributor_id, product_id, buyers in rows:
            if distributor_id in wanted:
                found[distributor_id][product_id] = int(buyers)
        return found

    def channels(self, distributor_ids: Sequence[int]) -> dict[tuple[int, int], tuple[int, int]]:
        """(distributor, product) -> (scans of their codes for the product, their attributed
        paid orders holding it), for products they have a share code for."""
        if not distributor_ids:
            return {}
        c, o = SCANS, CHANNEL_ORDERS
        wanted = set(distributor_ids)
        rows = self._read(
            select(c.c.distributor_id, c.c.product_id, c.c.scans, func.coalesce(o.c.orders, 0))
            .select_from(c)
            .outerjoin(
                o,
                and_(o.c.distributor_id == c.c.distributor_id, o.c.product_id == c.c.product_id),
            )
            .where(_among(c.c.distributor_id, wanted))
        )
        return {(d, p): (int(s or 0), int(n)) for d, p, s, n in rows if d in wanted}
