"""Product changes the merchant makes (the panel will call these; `flask product` does now)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from wxdist.core.errors import ApiError, NotFound
from wxdist.core.events import product_shelved
from wxdist.core.extensions import db
from wxdist.models import Product


def bad_shelf_request() -> ApiError:
    """The refusal of a shelf change that is neither on (1) nor off (0)."""
    return ApiError(_("bad shelf request"), fields={"on_shelf": _("1 (on shelf) or 0 (off)")})


def set_on_shelf(product_id: int, on_shelf: bool) -> bool:
    """Put a product on or off the shelf; commits. Returns True if it changed. Going on
    shelf has its posters drawn ahead (an RQ job) when POSTER_PREDRAW is on. Staff's choice
    ends an auto-pause (`stock_alerts`): a product they keep off shelf stays off."""
    if db.session.get(Product, product_id) is None:
        raise NotFound(_("no such product"), fields={"product_id": _("not found")})
    moves = Product.on_shelf.is_(not on_shelf)
    if not on_shelf:
        moves = moves | Product.paused_for_stock.is_(True)
    changed = db.session.execute(
        update(Product)
        .where(Product.id == product_id, moves)
        .values(on_shelf=on_shelf, paused_for_stock=False)
    ).rowcount
    db.session.commit()
    if changed and on_shelf:
        product_shelved.send(__name__, product_id=product_id)
    return bool(changed)
