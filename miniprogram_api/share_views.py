"""Sharing: a distributor's mini-program code, posters, H5 link, and per-code figures; the
scan report of a page opened from a code.

Codes and posters are answered as the image itself (PNG, JPEG), which is what
`wx.downloadFile` (with the bearer header) hands to `wx.saveImageToPhotosAlbum` or
`<image>`; the ETag is the content key, so a repeat download with If-None-Match is a 304.
The scene is in the `X-Share-Scene` header.
"""

from __future__ import annotations

import os

from flask import Blueprint, Response, request, url_for
from werkzeug.wsgi import wrap_file

from miniprogram_api import share_schemas as schemas
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import bearer_token, body, current_user, login_required, query
from wxdist.accounts.auth import token_claims, user_from_token
from wxdist.distribution import centre as distributor_centre
from wxdist.sharing import coupon_shares, posters, share_codes, share_links, wxacode

bp = Blueprint("api_share", __name__)

PRIVATE_CACHE = "private, max-age=300"


def _image(
    data: bytes | None,
    mimetype: str,
    etag: str,
    scene: str,
    cacheable: bool = True,
    path: str | None = None,
) -> Response:
    if path is not None:  # a stored file: the WSGI server may send it with sendfile(2)
        response = Response(
            wrap_file(request.environ, open(path, "rb")),  # noqa: SIM115 (closed by the server)
            mimetype=mimetype,
            direct_passthrough=True,
        )
        response.content_length = os.path.getsize(path)
    else:
        response = Response(data, mimetype=mimetype)
    response.headers["X-Share-Scene"] = scene
    if cacheable:
        response.set_etag(etag)
        response.headers["Cache-Control"] = PRIVATE_CACHE
        response.make_conditional(request)
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/distributor/code")
@api_doc(query=schemas.ShareQuery, media="image/png", errors=(400, 403, 404, 502), tag="sharing")
@login_required
def code():  # type: ignore[no-untyped-def]
    """My mini-program code (image/png) for a product and channel; fetched from WeChat once."""
    params = query(schemas.ShareQuery)
    row = share_codes.get_or_create(
        current_user().id, params.product_id, params.channel or "", params.coupon_template_id
    )
    spec = wxacode.spec_for(row.scene)
    png = wxacode.get_code(spec)
    return _image(png, "image/png", spec.key, row.scene)


@bp.get("/distributor/poster")
@api_doc(query=schemas.ShareQuery, media="image/jpeg", errors=(400, 403, 404, 502), tag="sharing")
def poster():  # type: ignore[no-untyped-def]
    """My poster (image/jpeg): invite without product_id, else the product's."""
    # The hot path: a stored poster is found, token version included, in one query; any
    # miss takes the full path (the user from the token, checks that name what is wrong).
    user_id, version = token_claims(bearer_token())
    params = query(schemas.ShareQuery)
    channel = params.channel or ""
    coupon = params.coupon_template_id
    result = None if coupon else posters.stored_poster(user_id, version, params.product_id, channel)
    if result is None:
        result = posters.get_poster(
            user_from_token(bearer_token()), params.product_id, channel, coupon
        )
    return _image(
        result.jpeg, "image/jpeg", result.key, result.scene, result.cacheable, result.path
    )


poster.login_required = True  # type: ignore[attr-defined]  (bearer auth, checked above)


@bp.get("/distributor/share-link")
@api_doc(
    query=schemas.ShareQuery,
    response=schemas.ShareLinkOut,
    errors=(400, 403, 404),
    tag="sharing",
)
@login_required
def share_link():  # type: ignore[no-untyped-def]
    """My H5 share link (for channels outside the mini-program) and where its QR is."""
    params = query(schemas.ShareQuery)
    row = share_codes.get_or_create(
        current_user().id, params.product_id, params.channel or "", params.coupon_template_id
    )
    link = share_links.link_for(row)
    args = {
        k: v
        for k, v in (
            ("product_id", row.product_id),
            ("channel", row.channel),
            ("coupon_template_id", row.coupon_template_id),
        )
        if v
    }
    return schemas.ShareLinkOut(
        scene=link.scene, url=link.url, qr_url=url_for("api_share.share_link_qr", **args)
    ).model_dump()


@bp.get("/distributor/share-link/qr")
@api_doc(query=schemas.ShareQuery, media="image/png", errors=(400, 403, 404), tag="sharing")
@login_required
def share_link_qr():  # type: ignore[no-untyped-def]
    """A plain QR code (image/png) of my H5 share link."""
    params = query(schemas.ShareQuery)
    row = share_codes.get_or_create(
        current_user().id, params.product_id, params.channel or "", params.coupon_template_id
    )
    link = share_links.link_for(row)
    return _image(share_links.qr_png(link.url), "image/png", link.url, row.scene)


@bp.get("/distributor/share-codes")
@api_doc(query=schemas.PageQuery, response=schemas.ShareCodePage, errors=(400, 403), tag="sharing")
@login_required
def share_code_stats():  # type: ignore[no-untyped-def]
    """My codes, newest first, with scans, opens and binds; and the totals per channel."""
    params = query(schemas.PageQuery)
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    rows, total = share_codes.codes_of(user_id, params.page, params.per_page)
    paid = coupon_shares.coupon_orders([r.id for r in rows])
    return schemas.ShareCodePage(
        page=params.page,
        per_page=params.per_page,
        total=total,
        items=[
            schemas.ShareCodeOut.model_validate(r).model_copy(
                update={"coupon_orders": paid.get(r.id, 0)}
            )
            for r in rows
        ],
        by_channel=[schemas.ChannelTotalOut(**t) for t in share_codes.totals_by_channel(user_id)],
    ).model_dump(mode="json")


@bp.post("/share/scan")
@api_doc(body=schemas.ScanIn, response=schemas.ScanOut, tag="sharing")
def scan():  # type: ignore[no-untyped-def]
    """Report that a page was opened from a code or link (no login needed); says where to go."""
    data = body(schemas.ScanIn)
    row = share_codes.record_scan(data.scene)
    if row is None:
        return schemas.ScanOut(known=False).model_dump()
    return schemas.ScanOut(
        known=True,
        distributor_id=row.distributor_id,
        product_id=row.product_id,
        channel=row.channel,
    ).model_dump()
