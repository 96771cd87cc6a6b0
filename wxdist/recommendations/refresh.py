"""The periodic refresh: every approved distributor's top products, stored.

One pass reads the shared signals once (the recommendable catalogue, units sold,
co-purchases, the programme's conversion, the margin at each level's rates) and builds the
per-distributor ones into temporary tables (`audience_tables`: each source table read once,
in key order), then walks the approved distributors in batches of `BATCH`: per batch, two
reads of those tables (their audiences' purchases, their share codes' funnel), the ranking
in memory, and one transaction that deletes the batch's rows and inserts the new ones. A
distributor's rows are replaced atomically (a reader sees the old list or the new one) and
a second run over the same history writes the same rows. Rows of distributors no longer approved go.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from wxdist.core.extensions import db
from wxdist.distribution import promote
from wxdist.distribution.commissions import Beneficiary
from wxdist.distribution.settings import Settings, get_settings
from wxdist.models import (
    Distributor,
    DistributorLevel,
    DistributorRecommendation,
    DistributorStatus,
)
from wxdist.models.types import utcnow
from wxdist.recommendations import ranking, signals
from wxdist.recommendations.audience_tables import AudienceTables

TOP_N = 50
BATCH = 1000


@dataclass(frozen=True)
class RefreshResult:
    distributors: int
    rows: int
    cold_start: int
    seconds: float
    model_seconds: float = 0.0  # the shared signals (grows with the order lines)
    tables_seconds: float = 0.0  # building the audience tables (grows with the order lines)
    read_seconds: float = 0.0  # the batches' audience and channel reads
    rank_seconds: float = 0.0  # the ranking in memory
    write_seconds: float = 0.0  # the batches' delete and insert

    def summary(self) -> str:
        """One line for logs and benches: counts, then where the seconds went."""
        return (
            f"{self.distributors:,} distributors, {self.rows:,} rows, {self.cold_start:,} cold:"
            f" {self.seconds:.1f} s (shared signals {self.model_seconds:.1f} s, audience"
            f" tables {self.tables_seconds:.1f} s; per batch: reads {self.read_seconds:.1f} s,"
            f" ranking {self.rank_seconds:.1f} s, writes {self.write_seconds:.1f} s)"
        )


def _approved() -> list[tuple[int, int | None, int | None, int | None]]:
    """(user id, level id, level l1 rate, level l2 rate) of every approved distributor."""
    rows = db.session.execute(
        select(
            Distributor.user_id,
            DistributorLevel.id,
            DistributorLevel.level1_rate_bp,
            DistributorLevel.level2_rate_bp,
        )
        .outerjoin(DistributorLevel, Distributor.level_id == DistributorLevel.id)
        .where(Distributor.status == DistributorStatus.APPROVED)
        .order_by(Distributor.user_id)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def margins(
    levels: dict[Any, tuple[int, int] | None], settings: Settings, now: datetime
) -> dict[Any, dict[int, float]]:
    """level key -> product -> (price - earning) / price at the lowest-priced SKU, both as
    `promote.earnings` computes them for a direct referrer at that level's rates."""
    rows = promote._sku_rows(None)
    found: dict[Any, dict[int, float]] = {}
    for key, rates in levels.items():
        beneficiary = Beneficiary(0, 1, rates) if settings.enabled else None
        figures = promote.earnings(rows, beneficiary, settings, now)
        found[key] = {
            p: (e.promo_price_min_fen - e.earning_min_fen) / e.promo_price_min_fen
            for p, e in figures.items()
            if e.promo_price_min_fen > 0
        }
    return found


def build(window: signals.Window, levels: dict[Any, tuple[int, int] | None]) -> ranking.Model:
    """The shared part of the ranking over the history in `window`."""
    found = signals.catalogue(window)
    partners = signals.co_purchases(window, found.orders, ranking.TOP_PARTNERS)
    model = ranking.build_model(
        found.category, found.units, partners, signals.global_conversion(window)
    )
    model.margins = margins(levels, get_settings(), window.as_of)
    return model


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rank_batch(
    model: ranking.Model,
    batch: Sequence[tuple[int, Any]],
    tables: AudienceTables,
    limit: int,
    clock: dict[str, float] | None = None,
) -> dict[int, list[ranking.Ranked]]:
    """The rankings of a batch of (distributor id, level key); adds the seconds spent
    reading and ranking to `clock`."""
    clock = clock if clock is not None else {}
    started = time.monotonic()
    ids = [d for d, _level in batch]
    bought = tables.bought(ids)
    seen: dict[int, dict[int, tuple[int, int]]] = {}
    for (d, p), figures in tables.channels(ids).items():
        seen.setdefault(d, {})[p] = figures
    read = time.monotonic()
    found = {
        d: ranking.rank(model, bought.get(d, {}), seen.get(d, {}), level, limit)
        for d, level in batch
    }
    clock["read"] = clock.get("read", 0.0) + read - started
    clock["rank"] = clock.get("rank", 0.0) + time.monotonic() - read
    return found


def _store(found: dict[int, list[ranking.Ranked]], now: datetime) -> int:
    """Replace the rows of the distributors in `found` in one transaction. The insert goes
    to the driver's executemany as plain tuples (one multi-row INSERT on MySQL): building
    2.5 million rows through the ORM's per-row type processing would cost most of the
    refresh."""
    table = DistributorRecommendation.__table__
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # what UTCDateTime stores, both dialects
    rows = [
        (d, position, r.product_id, round(r.score, 9), r.reason, r.reason_product_id, stamp)
        for d, ranked in found.items()
        for position, r in enumerate(ranked, start=1)
    ]
    try:
        db.session.execute(delete(table).where(table.c.distributor_id.in_(list(found))))
        if rows:
            connection = db.session.connection()
            mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
            connection.exec_driver_sql(
                f"INSERT INTO {table.name} (distributor_id, {_quoted('rank')}, product_id,"
                f" score, reason, reason_product_id, refreshed_at) VALUES"
                f" ({', '.join([mark] * 7)})",
                rows,
            )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return len(rows)


def _quoted(name: str) -> str:
    """`rank` is a reserved word on MariaDB 10.2+ and MySQL 8."""
    return db.session.get_bind().dialect.identifier_preparer.quote_identifier(name)


def refresh_all(
    as_of: datetime | None = None,
    since: datetime | None = None,
    limit: int = TOP_N,
    batch_size: int = BATCH,
) -> RefreshResult:
    """Recompute and store every approved distributor's top `limit` over the orders paid
    in [since, as_of) (as_of: now). Returns what it did."""
    started = time.monotonic()
    now = utcnow()
    window = signals.Window(as_of or now, since)
    distributors = _approved()
    levels: dict[Any, tuple[int, int] | None] = {None: None}
    for _d, level_id, l1, l2 in distributors:
        if level_id is not None:
            levels[level_id] = (l1 or 0, l2 or 0)
    model = build(window, levels)
    db.session.rollback()  # end the read transaction before the writes
    model_seconds = time.monotonic() - started
    rows = cold = 0
    members = [(d, level_id) for d, level_id, _l1, _l2 in distributors]
    clock: dict[str, float] = {}
    with AudienceTables(window) as tables:
        tables_seconds = time.monotonic() - started - model_seconds
        for batch in _batches(members, batch_size):
            found = rank_batch(model, batch, tables, limit, clock)
            cold += sum(1 for ranked in found.values() if ranked and ranked[0].cold)
            writing = time.monotonic()
            rows += _store(found, now)
            clock["write"] = clock.get("write", 0.0) + time.monotonic() - writing
    _drop_others()
    return RefreshResult(
        len(members), rows, cold, time.monotonic() - started, model_seconds, tables_seconds,
        clock.get("read", 0.0), clock.get("rank", 0.0), clock.get("write", 0.0),
    )  # fmt: skip


def _drop_others() -> None:
    """Delete the rows of distributors no longer approved."""
    table = DistributorRecommendation.__table__
    approved = select(Distributor.user_id).where(Distributor.status == DistributorStatus.APPROVED)
    db.session.execute(delete(table).where(table.c.distributor_id.not_in(approved)))
    db.session.commit()
