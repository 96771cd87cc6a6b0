"""The after-sale timeouts, run periodically (`jobs.aftersales.sweep_aftersales`): no
merchant answer in AFTERSALE_AGREE_DAYS -> agreed (by the system); an agreed return not
shipped back in AFTERSALE_SHIPBACK_DAYS -> closed. Each move is the same compare-and-set as
staff's, so a sweep racing a person moves an after-sale once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from wxdist.core.errors import Conflict
from wxdist.core.extensions import db
from wxdist.models import AfterSale, AfterSaleKind, AfterSaleStatus
from wxdist.models.types import utcnow
from wxdist.shop.aftersales import service

SYSTEM = service.Actor(service.SYSTEM)


def _due(status: str, now: datetime, limit: int, *where) -> list[int]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(AfterSale.id)
            .where(AfterSale.status == status, AfterSale.deadline_at <= now, *where)
            .order_by(AfterSale.deadline_at)
            .limit(limit)
        ).all()
    )


def sweep(now: datetime | None = None, limit: int = 500) -> int:
    """Apply every timeout due at `now`; returns how many after-sales moved."""
    now = now or utcnow()
    done = 0
    for sale_id in _due(AfterSaleStatus.APPLIED, now, limit):
        try:
            service.agree(sale_id, SYSTEM, now=now)
            done += 1
        except Conflict:  # someone moved it first
            continue
    returns = _due(
        AfterSaleStatus.AGREED, now, limit, AfterSale.kind == AfterSaleKind.RETURN_REFUND
    )
    for sale_id in returns:
        try:
            moved = service.move(
                sale_id,
                (AfterSaleStatus.AGREED,),
                AfterSaleStatus.CLOSED,
                SYSTEM,
                now=now,
            )
            service.commit_move(moved)
            done += 1
        except Conflict:
            continue
    db.session.commit()
    return done
