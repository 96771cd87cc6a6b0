"""Hand poster drawing to the job queue after a commit that calls for it (a distributor
approved, a product on shelf), when POSTER_PREDRAW is on (by default: with RQ). With Redis
unreachable nothing is drawn ahead: the first request draws the poster."""

from __future__ import annotations

from flask import current_app

from wxdist.core.tasks import enqueue


def predraw_distributor_posters(user_id: int) -> None:
    if current_app.config.get("POSTER_PREDRAW"):
        enqueue("jobs.posters.predraw_for_distributor", user_id)


def predraw_product_posters(product_id: int) -> None:
    if current_app.config.get("POSTER_PREDRAW"):
        enqueue("jobs.posters.predraw_for_product", product_id)
