"""Hand poster drawing to the job queue after a commit that calls for it (a distributor
approved, a product on shelf), when POSTER_PREDRAW is on (by default: with RQ)."""

from __future__ import annotations

from flask import current_app

from wxdist.tasks import enqueue


def predraw_distributor_posters(user_id: int) -> None:
    if current_app.config.get("POSTER_PREDRAW"):
        enqueue("jobs.posters.predraw_for_distributor", user_id, job_timeout=600)


def predraw_product_posters(product_id: int) -> None:
    if current_app.config.get("POSTER_PREDRAW"):
        enqueue("jobs.posters.predraw_for_product", product_id, job_timeout=1800)
