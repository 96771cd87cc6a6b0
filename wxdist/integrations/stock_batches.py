"""Stock set by an ERP (the open API's `POST /stock`): up to 100 SKUs by code, each set
absolutely or moved by a delta, applied all or nothing, once per request id.

A delta is applied relatively in one conditional UPDATE (`stock = stock + d WHERE stock +
d >= 0`), so orders reserving the SKU meanwhile keep their effect and the stock never goes
below zero; an absolute value is the warehouse's count and replaces what is there. Rows
are written in SKU id order, the order checkout locks them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from wxdist.catalog import stock_alerts
from wxdist.catalog.admin import MAX_STOCK
from wxdist.core.errors import ApiError, Conflict
from wxdist.core.extensions import db
from wxdist.integrations import idempotency
from wxdist.models import Sku

MAX_LINES = 100
OPERATION = "stock.batch"


@dataclass(frozen=True)
class StockLine:
    sku_code: str
    set: int | None = None
    delta: int | None = None


def apply(key_pk: int, request_id: str, lines: list[StockLine], body: bytes) -> tuple[int, Any]:
    """Apply the batch (committed) and return (status, answer): the SKUs' stock after it.
    The same request id again returns the first answer and changes nothing. Raises ApiError
    naming `items.<i>.sku_code` (unknown, twice) or `items.<i>.set|delta` (out of range),
    Conflict `stock_below_zero` naming `items.<i>.delta`, or Conflict `request_id_reused`;
    each after rolling back, with nothing applied."""
    idempotency.check_request_id(request_id)
    _check_lines(lines)
    stored = idempotency.claim(key_pk, request_id, OPERATION, body)
    if stored is not None:
        return stored
    ids = _sku_ids(lines)
    for position, line in sorted(enumerate(lines), key=lambda p: ids[p[1].sku_code]):
        _apply_line(ids[line.sku_code], line, position)
    stock = dict(
        db.session.execute(select(Sku.id, Sku.stock).where(Sku.id.in_(ids.values()))).tuples().all()
    )
    changes = stock_alerts.check(sorted(ids.values()))
    answer = {
        "request_id": request_id,
        "items": [{"sku_code": ln.sku_code, "stock": stock[ids[ln.sku_code]]} for ln in lines],
    }
    idempotency.answer(key_pk, request_id, 200, answer)
    db.session.commit()
    stock_alerts.announce(changes)
    return 200, answer


def _check_lines(lines: list[StockLine]) -> None:
    errors: dict[str, str] = {}
    if not 1 <= len(lines) <= MAX_LINES:
        errors["items"] = _("from %(low)s to %(high)s SKUs", low=1, high=MAX_LINES)
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.sku_code in seen:
            errors[f"items.{i}.sku_code"] = _("appears twice in the batch")
        seen.add(line.sku_code)
        if (line.set is None) == (line.delta is None):
            errors[f"items.{i}"] = _("give either set or delta")
        elif line.set is not None and not 0 <= line.set <= MAX_STOCK:
            errors[f"items.{i}.set"] = _("from %(low)s to %(high)s", low=0, high=MAX_STOCK)
        elif line.delta is not None and not (line.delta != 0 and abs(line.delta) <= MAX_STOCK):
            errors[f"items.{i}.delta"] = _("not 0, and at most %(high)s either way",
                                           high=MAX_STOCK)  # fmt: skip
    if errors:
        raise ApiError(_("the stock batch is wrong"), code="invalid", fields=errors)


def _sku_ids(lines: list[StockLine]) -> dict[str, int]:
    codes = [line.sku_code for line in lines]
    ids = dict(
        db.session.execute(select(Sku.code, Sku.id).where(Sku.code.in_(codes))).tuples().all()
    )
    unknown = {
        f"items.{i}.sku_code": _("no SKU has this code")
        for i, c in enumerate(codes)
        if c not in ids
    }
    if unknown:
        db.session.rollback()
        raise ApiError(_("the stock batch names unknown SKUs"), code="invalid", fields=unknown)
    return ids


def _apply_line(sku_id: int, line: StockLine, position: int) -> None:
    if line.set is not None:
        db.session.execute(update(Sku).where(Sku.id == sku_id).values(stock=line.set))
        return
    delta = int(line.delta or 0)
    moved = db.session.execute(
        update(Sku)
        .where(Sku.id == sku_id, Sku.stock + delta >= 0, Sku.stock + delta <= MAX_STOCK)
        .values(stock=Sku.stock + delta)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        raise Conflict(
            _("the delta would take the stock below 0 or above the maximum; nothing was "
              "applied"),
            code="stock_below_zero",
            fields={f"items.{position}.delta": _("the stock is too low for this delta")},
        )  # fmt: skip
