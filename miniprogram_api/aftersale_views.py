"""A shopper's after-sales: upload evidence, apply, list, read (with the log and the
deadline), cancel, ship a return back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _

from miniprogram_api import schemas
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import body, current_user, login_required, query
from wxdist.catalog.pictures import FIELD, MAX_PICTURE_BYTES
from wxdist.core.errors import ApiError
from wxdist.models import AfterSale
from wxdist.shop.aftersales import evidence, reading, service
from wxdist.shop.aftersales.rules import REASONS

bp = Blueprint("api_aftersales", __name__)

UPLOAD_LIMIT = MAX_PICTURE_BYTES + 64 * 1024  # the picture and its multipart envelope


def _out(sale: AfterSale, with_log: bool = False) -> dict[str, Any]:
    out = schemas.AfterSaleOut.model_validate(
        {
            **{
                c: getattr(sale, c)
                for c in schemas.AfterSaleOut.model_fields
                if c not in ("log", "reason")
            },
            "reason": str(REASONS.get(sale.reason_code, sale.reason_code)),
            "log": [schemas.AfterSaleLogOut.model_validate(row) for row in reading.log_of(sale.id)]
            if with_log
            else [],
        }
    )
    return out.model_dump(mode="json")


@bp.get("/aftersales/reasons")
@api_doc(response=schemas.ReasonList, tag="aftersales")
def reasons():  # type: ignore[no-untyped-def]
    """The reasons a shopper may give, with their labels in the request's language."""
    return {"items": [{"code": code, "label": str(label)} for code, label in REASONS.items()]}


@bp.post("/aftersales/pictures")
@api_doc(
    query=schemas.PictureQuery,
    response=schemas.PictureOut,
    status=201,
    errors=(400, 404, 413),
    tag="aftersales",
    upload=FIELD,
)
@login_required
def upload_picture():  # type: ignore[no-untyped-def]
    """Upload one evidence picture for one of the shopper's order lines (multipart/form-data,
    field `picture`: JPEG, PNG or WebP up to 5 MB; read by its content, its metadata
    stripped). Answers the URL to put in `evidence`; 400 `unsupported_picture`,
    `picture_too_large` or `picture_too_many_pixels` naming `picture`."""
    params = query(schemas.PictureQuery)
    evidence.check_item_owner(current_user().id, params.order_item_id)
    request.max_content_length = UPLOAD_LIMIT
    upload = request.files.get(FIELD)
    if upload is None:
        raise ApiError(
            _("choose a picture to upload"), code="invalid", fields={FIELD: _("required")}
        )
    return {"url": evidence.store_evidence(upload.stream.read(MAX_PICTURE_BYTES + 1))}, 201


@bp.post("/aftersales")
@api_doc(
    body=schemas.AfterSaleIn,
    response=schemas.AfterSaleOut,
    status=201,
    errors=(400, 404, 409),
    tag="aftersales",
)
@login_required
def apply():  # type: ignore[no-untyped-def]
    """Ask for a refund (or a return and refund) of part of one of the shopper's order
    lines. 409 codes: `invalid_status` (order not paid, or refunding), `not_shipped`,
    `aftersale_window_closed` (AFTERSALE_WINDOW_DAYS after completion), `aftersale_open`
    (the line has one open)."""
    data = body(schemas.AfterSaleIn)
    sale = service.apply(
        current_user().id,
        service.Application(
            order_item_id=data.order_item_id,
            kind=data.kind,
            quantity=data.quantity,
            amount_fen=data.amount_fen,
            reason_code=data.reason_code,
            description=data.description,
            evidence=list(data.evidence),
        ),
    )
    return _out(sale, with_log=True), 201


@bp.get("/aftersales")
@api_doc(query=schemas.AfterSaleQuery, response=schemas.AfterSalePage, tag="aftersales")
@login_required
def list_aftersales():  # type: ignore[no-untyped-def]
    """The shopper's own after-sales, newest first."""
    params = query(schemas.AfterSaleQuery)
    items, total = reading.list_user_aftersales(
        current_user().id, params.status, params.page, params.per_page
    )
    return {
        "page": params.page,
        "per_page": params.per_page,
        "total": total,
        "items": [_out(sale) for sale in items],
    }


@bp.get("/aftersales/<int:aftersale_id>")
@api_doc(response=schemas.AfterSaleOut, errors=(404,), tag="aftersales")
@login_required
def get(aftersale_id: int):  # type: ignore[no-untyped-def]
    """One of the shopper's after-sales, with its log and the current deadline."""
    return _out(service.user_aftersale(current_user().id, aftersale_id), with_log=True)


@bp.post("/aftersales/<int:aftersale_id>/cancel")
@api_doc(body=schemas.CancelIn, response=schemas.AfterSaleOut, errors=(404, 409), tag="aftersales")
@login_required
def cancel(aftersale_id: int):  # type: ignore[no-untyped-def]
    """Withdraw an after-sale still applied or agreed (before shipping a return back);
    409 `invalid_status` otherwise. The body may be left out (no JSON content type)."""
    reads = request.content_length or request.mimetype == "application/json"
    data = body(schemas.CancelIn) if reads else schemas.CancelIn()
    sale = service.cancel(current_user().id, aftersale_id, data.status)
    return _out(sale, with_log=True)


@bp.post("/aftersales/<int:aftersale_id>/ship-back")
@api_doc(
    body=schemas.ShipBackIn, response=schemas.AfterSaleOut, errors=(404, 409), tag="aftersales"
)
@login_required
def ship_back(aftersale_id: int):  # type: ignore[no-untyped-def]
    """The goods of an agreed return were sent back with this carrier and tracking number;
    409 `invalid_status` unless the after-sale is an agreed return."""
    data = body(schemas.ShipBackIn)
    sale = service.ship_back(current_user().id, aftersale_id, data.carrier, data.tracking_no)
    return _out(sale, with_log=True)
