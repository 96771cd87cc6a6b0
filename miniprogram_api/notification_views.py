"""Subscribe messages: record what the shopper allowed, read the consents left."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from miniprogram_api.openapi import api_doc
from miniprogram_api.request import (
    body,
    current_claims,
    current_user,
    login_required,
    token_required,
)
from miniprogram_api.schemas.notifications import ConsentList, ConsentOut, SubscriptionsIn
from wxdist.notifications import consents

bp = Blueprint("api_notifications", __name__)


def _out(counts: list[consents.ConsentCount]) -> dict[str, Any]:
    items = [ConsentOut.model_validate(c).model_dump(mode="json") for c in counts]
    return {"items": items}


@bp.post("/me/subscriptions")
@api_doc(body=SubscriptionsIn, response=ConsentList, errors=(404,), tag="messages")
@token_required  # record checks the token against the user in its first query
def subscribe():  # type: ignore[no-untyped-def]
    """Record what `wx.requestSubscribeMessage` returned: each "accept" allows one message
    of that template ("ban" sets its count to zero). 404 `unknown_template` names each
    template id that is not one of this store's notices."""
    data = body(SubscriptionsIn).results()
    return _out(consents.record(current_claims(), data))


@bp.get("/me/subscriptions")
@api_doc(response=ConsentList, tag="messages")
@login_required
def mine():  # type: ignore[no-untyped-def]
    """The templates of this store's notices, with how many messages each may still send
    (ask the shopper again with `wx.requestSubscribeMessage` when it is 0)."""
    return _out(consents.counts(current_user().id))
