"""H5 share links, for channels outside the mini-program (SMS, e-mail, other apps), with a
plain QR code of the link.

The link carries the same scene as the mini-program code, so the H5 page (at
`H5_BASE_URL`) reports its scan with `POST /api/v1/share/scan` and passes the scene to
login or bind exactly as the mini-program does; a product link also names the product.
The QR PNG is drawn once per link and kept in the media storage.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlencode

import qrcode
from flask import current_app

from wxdist.core.media import hashed_key, storage
from wxdist.models import ShareCode

QR_BOX_SIZE = 10


@dataclass(frozen=True)
class ShareLink:
    scene: str
    url: str


def link_for(code: ShareCode) -> ShareLink:
    params = {"scene": code.scene}
    if code.product_id is not None:
        params["product_id"] = str(code.product_id)
    return ShareLink(code.scene, f"{current_app.config['H5_BASE_URL']}/?{urlencode(params)}")


def qr_png(url: str) -> bytes:
    """A plain QR code (level M, 4-module border) of `url`, from the storage or drawn."""
    key = hashed_key("h5qr", url, "png")
    store = storage()
    png = store.get(key)
    if png is None:
        qr = qrcode.QRCode(
            error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=QR_BOX_SIZE, border=4
        )
        qr.add_data(url)
        qr.make(fit=True)
        out = io.BytesIO()
        qr.make_image(fill_color="black", back_color="white").save(out, format="PNG")
        png = out.getvalue()
        store.put(key, png)
    return png
