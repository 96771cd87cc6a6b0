"""Stock alerts and auto-pause: each SKU's alert state (`Sku.stock_alert`) follows its
stock, and each crossing is told once.

A SKU is **out** at stock 0, **low** at 1..threshold, **ok** above; its threshold is its
own `low_stock_threshold`, else the store's default (`stock_settings`). Nothing is added to
the paths that move stock (checkout's reservation, cancellations, after-sale restock, the
panel, the open API): `check` compares states with stock afterwards, in the caller's
transaction, and is run by the periodic sweep (`jobs.stock.sweep_stock_alerts`, every
30 s) and by the panel and the open API for the SKUs they just changed.

Each move is a compare-and-set on the old state (and on the stock still being in the new
state's range), so two checks at once move a SKU once and alert once. A move of a SKU for
sale (active, its product on shelf or paused by us) sends `stock_alerting` inside the
transaction; integrations write `stock.low` for ok → low only (out → low on a restock is not
a new warning) and `stock.out` for any move to out. A SKU not for sale moves silently, so
its state is right when it is sold again and a draft with no stock alerts nobody.

**Auto-pause.** With `auto_pause` on, a product on shelf whose active SKUs are all out goes
off shelf marked `paused_for_stock`; a paused product goes back on shelf as soon as one
active SKU has stock, whatever the setting is then. Both updates are conditional on the
shelf state (a race with a restock is mended by the next sweep, see `_set_shelf`). A
product staff take off shelf is never put back: `products.set_on_shelf` clears the mark.

`check` never commits; after the caller's commit, `announce(changes)` sends the after-commit
signals (`stock_alerted`: the staff's subscribe messages; `product_shelved` for a product
put back: its posters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from wxdist.catalog.stock_settings import current
from wxdist.core.events import product_shelved, stock_alerted, stock_alerting
from wxdist.core.extensions import db
from wxdist.models import Product, Sku

OK, LOW, OUT = "ok", "low", "out"
STATES = (OK, LOW, OUT)


@dataclass(frozen=True)
class StockAlert:
    """A SKU's alert state moved from `previous` to `state` at `stock` (against
    `threshold`); `for_sale` when it was told (`stock_alerting`)."""

    sku_id: int
    product_id: int
    state: str
    previous: str
    stock: int
    threshold: int
    for_sale: bool


@dataclass(frozen=True)
class ShelfChange:
    """Auto-pause took product `product_id` off shelf (`on_shelf` False) or put it back."""

    product_id: int
    on_shelf: bool


Change = StockAlert | ShelfChange


def state_of(stock: int, threshold: int) -> str:
    if stock <= 0:
        return OUT
    return LOW if stock <= threshold else OK


def warns(state: str, previous: str) -> bool:
    """Whether a move is a warning to tell: stock ran out, or fell to low from ok."""
    return state == OUT or (state == LOW and previous == OK)


def check(sku_ids: Sequence[int] | None = None) -> list[Change]:
    """Move the alert state of every SKU whose stock no longer matches it, and pause or
    resume their products (module docstring), in the session's transaction; `sku_ids`
    limits it to those SKUs' products, None checks every SKU (one scan of the table).
    Returns what changed. Never commits; raises what the database raises (and what a
    `stock_alerting` receiver raises: the caller's transaction then rolls back)."""
    if sku_ids is not None and not sku_ids:
        return []
    settings = current()
    threshold = func.coalesce(Sku.low_stock_threshold, settings.low_stock_threshold)
    query = select(
        Sku.id,
        Sku.product_id,
        Sku.stock,
        Sku.is_active,
        Sku.stock_alert,
        threshold.label("threshold"),
        Product.on_shelf,
        Product.paused_for_stock,
    ).join(Product, Product.id == Sku.product_id)
    if sku_ids is not None:
        products = select(Sku.product_id).where(Sku.id.in_(list(sku_ids)))
        query = query.where(Sku.product_id.in_(products))
    rows = db.session.execute(query.order_by(Sku.id)).all()

    alerts: list[StockAlert] = []
    by_product: dict[int, list[int]] = {}  # active SKUs' stock
    shelf: dict[int, tuple[bool, bool]] = {}  # (on shelf, paused for stock)
    for row in rows:
        shelf[row.product_id] = (bool(row.on_shelf), bool(row.paused_for_stock))
        if row.is_active:
            by_product.setdefault(row.product_id, []).append(int(row.stock))
        wanted = state_of(int(row.stock), int(row.threshold))
        if wanted != row.stock_alert and _move(row.id, row.stock_alert, wanted, row.threshold):
            for_sale = bool(row.is_active and (row.on_shelf or row.paused_for_stock))
            alert = StockAlert(
                row.id,
                row.product_id,
                wanted,
                row.stock_alert,
                int(row.stock),
                int(row.threshold),
                for_sale,
            )
            alerts.append(alert)
    changes: list[Change] = [*_pause_and_resume(by_product, shelf, settings.auto_pause)]
    for alert in alerts:
        if alert.for_sale:
            stock_alerting.send(__name__, **_arguments(alert))
    return [*alerts, *changes]


def _move(sku_id: int, old: str, new: str, threshold: int) -> bool:
    """Compare-and-set the SKU's state, if its stock is still in the new state's range."""
    in_range = {
        OUT: Sku.stock <= 0,
        LOW: (Sku.stock > 0) & (Sku.stock <= threshold),
        OK: Sku.stock > threshold,
    }[new]
    moved = db.session.execute(
        update(Sku)
        .where(Sku.id == sku_id, Sku.stock_alert == old, in_range)
        .values(stock_alert=new)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)


def _pause_and_resume(
    by_product: dict[int, list[int]], shelf: dict[int, tuple[bool, bool]], auto_pause: bool
) -> list[ShelfChange]:
    changes = []
    for product_id, stocks in by_product.items():
        on_shelf, paused = shelf[product_id]
        if paused and any(stock > 0 for stock in stocks):
            wanted = True
        elif auto_pause and on_shelf and all(stock <= 0 for stock in stocks):
            wanted = False
        else:
            continue
        if _set_shelf(product_id, wanted):
            changes.append(ShelfChange(product_id, wanted))
    return changes


def _set_shelf(product_id: int, on_shelf: bool) -> bool:
    """Pause (on_shelf False) a product on shelf, or resume one we paused. No read of its
    SKUs here: a locking read of them would queue behind checkouts; a restock between the
    check's read and this update is seen by the next sweep, which puts the product back."""
    condition = Product.paused_for_stock if on_shelf else Product.on_shelf
    moved = db.session.execute(
        update(Product)
        .where(Product.id == product_id, condition.is_(True))
        .values(on_shelf=on_shelf, paused_for_stock=not on_shelf)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)


def _arguments(alert: StockAlert) -> dict[str, object]:
    return {
        "sku_id": alert.sku_id,
        "product_id": alert.product_id,
        "state": alert.state,
        "previous": alert.previous,
        "stock": alert.stock,
        "threshold": alert.threshold,
    }


def announce(changes: Sequence[Change]) -> None:
    """After the commit of `check`'s transaction: `stock_alerted` for each SKU for sale that
    moved, `product_shelved` for each product put back on shelf. Receivers do not raise."""
    for change in changes:
        if isinstance(change, StockAlert) and change.for_sale:
            stock_alerted.send(__name__, **_arguments(change))
        elif isinstance(change, ShelfChange) and change.on_shelf:
            product_shelved.send(__name__, product_id=change.product_id)


def sweep() -> int:
    """The periodic check of every SKU: `check()`, commit, `announce`. Returns how many
    changes it made. On a database error it rolls back and raises (the next run retries)."""
    try:
        changes = check()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    announce(changes)
    return len(changes)
