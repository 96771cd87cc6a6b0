"""Sharing listens: posters are drawn ahead for a new distributor and for a product put on
shelf (after commit), and a share code counts the bindings made through it (inside the
binding's transaction). See `core.events`."""

from __future__ import annotations

from typing import Any

from wxdist.core import events
from wxdist.sharing import share_codes
from wxdist.sharing.posters.jobs import predraw_distributor_posters, predraw_product_posters


def draw_distributor_posters(_sender: Any, *, user_id: int) -> None:
    predraw_distributor_posters(user_id)


def draw_product_posters(_sender: Any, *, product_id: int) -> None:
    predraw_product_posters(product_id)


def count_bind(_sender: Any, *, user_id: int, referrer_id: int, share_code_id: int | None) -> None:
    if share_code_id is not None:
        share_codes.count(share_code_id, "binds")


def connect() -> None:
    """Connect sharing's receivers (idempotent; `create_app` calls it)."""
    events.distributor_approved.connect(draw_distributor_posters, weak=False)
    events.product_shelved.connect(draw_product_posters, weak=False)
    events.referral_bound.connect(count_bind, weak=False)
