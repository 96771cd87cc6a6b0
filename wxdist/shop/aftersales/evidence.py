"""Evidence pictures: a shopper uploads them through the same cleaning and storage as
product pictures (`catalog.pictures`: format read from the content, size and pixel limits,
metadata stripped, stored under a digest); an after-sale accepts only URLs of pictures so
stored."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.catalog.pictures import clean_picture, store_picture
from wxdist.core.errors import ApiError, NotFound
from wxdist.core.extensions import db
from wxdist.core.media import MEDIA_URL_PREFIX, check_key, storage
from wxdist.models import Order, OrderItem
from wxdist.shop.aftersales.rules import MAX_EVIDENCE

PREFIX = f"{MEDIA_URL_PREFIX}pictures/"


def check_item_owner(user_id: int, order_item_id: int) -> None:
    """Evidence is taken only for a line of the shopper's own orders (the upload is no free
    picture hosting). Raises NotFound 404 naming `order_item_id`."""
    owner = db.session.scalar(
        select(Order.user_id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(OrderItem.id == order_item_id)
    )
    if owner != user_id:
        raise NotFound(_("no such order item"), fields={"order_item_id": _("not found")})


def store_evidence(data: bytes) -> str:
    """Clean and keep one picture; returns its `/media/pictures/…` URL. Raises ApiError 400
    naming `picture` (see `catalog.pictures`)."""
    return store_picture(clean_picture(data))


def check_evidence(urls: list[str]) -> list[str]:
    """The URLs, once each is one of our stored pictures. Raises ApiError 400 naming
    `evidence` (or `evidence.<n>`)."""
    if len(urls) > MAX_EVIDENCE:
        raise ApiError(
            _("too many pictures"),
            code="invalid",
            fields={"evidence": _("at most %(count)s pictures", count=MAX_EVIDENCE)},
        )
    for index, url in enumerate(urls):
        if not _stored(url):
            raise ApiError(
                _("evidence must be pictures uploaded here"),
                code="invalid",
                fields={f"evidence.{index}": _("not a picture uploaded for an after-sale")},
            )
    return list(dict.fromkeys(urls))


def _stored(url: str) -> bool:
    if not url.startswith(PREFIX):
        return False
    key = url[len(MEDIA_URL_PREFIX) :]
    try:
        check_key(key)
    except ValueError:
        return False
    return storage().exists(key)
