"""Poster jobs: draw posters ahead, so a distributor's first share is instant."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import SWEEP, job


@job(timeout=600, if_down=SWEEP)  # with Redis down, the first request draws
def predraw_for_distributor(user_id: int) -> int:
    """After a distributor is approved: their invite poster and product posters."""
    with app_context():
        from wxdist.sharing.posters import predraw_for_distributor as predraw

        return predraw(user_id)


@job(timeout=1800, if_down=SWEEP)
def predraw_for_product(product_id: int) -> int:
    """After a product goes on shelf: its poster for the approved distributors."""
    with app_context():
        from wxdist.sharing.posters import predraw_for_product as predraw

        return predraw(product_id)
