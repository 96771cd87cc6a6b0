"""Product pictures: uploads through the panel are checked by content, cleaned of metadata
and refused (naming the field, storing nothing) when they are not pictures, too large or
bombs; reorder and delete; the demo catalogue's drawn pictures are served and on posters."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from blinker import ANY
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageStat
from sqlalchemy import func, select

from tests.panel_helpers import csrf_from, staff_client
from tests.share_helpers import media_files
from tests.shop import become_distributor, make_product
from wxdist.catalog.face import product_facts
from wxdist.catalog.pictures import MAX_PICTURE_BYTES, clean_picture
from wxdist.cli.demo_data import seed_demo_catalogue
from wxdist.core.errors import ApiError
from wxdist.core.events import product_shelved
from wxdist.core.extensions import db
from wxdist.models import Product, ProductImage
from wxdist.models.staff import AuditEntry

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def _media(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A media directory of this test's own, so "nothing stored" can be seen."""
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "POSTER_RECHECK_SECONDS", 0)


def _edit_url(product_id: int) -> str:
    return f"/panel/products/{product_id}/edit"


def _jpeg_with_gps(size: tuple[int, int] = (120, 60), orientation: int = 6) -> bytes:
    """A JPEG whose EXIF has a GPS position (Beijing) and an orientation (6: turn right)."""
    image = Image.new("RGB", size, (200, 40, 40))
    image.paste((40, 40, 200), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "SpyCam"  # Make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 30.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the fixture has GPS
    return data


def _png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header claims width × height (IHDR patched, CRC recomputed)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _picture(colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, fmt)
    return out.getvalue()


def _upload(client: FlaskClient, product_id: int, data: bytes, filename: str = "photo.jpg") -> Any:
    token = csrf_from(client.get(_edit_url(product_id)).get_data(as_text=True))
    return client.post(
        f"/panel/products/{product_id}/pictures",
        data={"csrf_token": token, "picture": (io.BytesIO(data), filename, "image/jpeg")},
        content_type="multipart/form-data",
    )


def _post(client: FlaskClient, product_id: int, action: str, **data: str) -> Any:
    token = csrf_from(client.get(_edit_url(product_id)).get_data(as_text=True))
    return client.post(
        f"/panel/products/{product_id}/pictures/{action}", data={"csrf_token": token, **data}
    )


def _urls(app: Flask, product_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(ProductImage.url)
                .where(ProductImage.product_id == product_id)
                .order_by(ProductImage.sort, ProductImage.id)
            )
        )


def _image_ids(app: Flask, product_id: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(ProductImage.id)
                .where(ProductImage.product_id == product_id)
                .order_by(ProductImage.sort, ProductImage.id)
            )
        )


def _audits(app: Flask, action: str) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
            or 0
        )


# ---- upload --------------------------------------------------------------------------------


def test_a_jpeg_with_exif_gps_comes_back_upright_without_it(app: Flask) -> None:
    product = make_product(app, title="云南咖啡")
    client = staff_client(app, "operator")
    upload = _jpeg_with_gps()

    response = _upload(client, product["product_id"], upload, "IMG_0001.JPG")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]

    urls = _urls(app, product["product_id"])
    assert urls[0] == "https://img.example/p.jpg" and len(urls) == 2
    assert re.fullmatch(r"/media/pictures/[0-9a-f]{2}/[0-9a-f]{40}\.jpg", urls[1])
    served = client.get(urls[1])
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(served.data))
    image.load()
    assert image.format == "JPEG"
    assert image.size == (60, 120)  # turned upright by its orientation, then forgotten
    exif = image.getexif()
    assert not exif.get_ifd(GPS_IFD) and GPS_IFD not in exif and not exif
    assert b"SpyCam" not in served.data and b"Exif" not in served.data
    assert _audits(app, "product.picture_add") == 1
    page = client.get(_edit_url(product["product_id"])).get_data(as_text=True)
    assert f'src="{urls[1]}"' in page


def _six_mb() -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(6 * 1024 * 1024 - 4)


REFUSALS = [
    ("php", lambda: b"<?php system($_GET['c']); ?>\n", "x.jpg", "unsupported_picture"),
    ("bomb", _png_bomb, "bomb.png", "picture_too_many_pixels"),
    ("6mb", _six_mb, "big.jpg", "picture_too_large"),
    ("gif", lambda: _picture((1, 2, 3), "GIF"), "anim.jpg", "unsupported_picture"),
    ("truncated", lambda: _jpeg_with_gps()[:300], "cut.jpg", "unsupported_picture"),
]


@pytest.mark.parametrize(
    ("name", "make", "filename", "code"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refused_uploads_name_the_field_and_store_nothing(
    app: Flask, name: str, make: Any, filename: str, code: str
) -> None:
    data = make()
    # Worded for an English reader, as the panel client below reads (Accept-Language: en).
    english = app.test_request_context(headers={"Accept-Language": "en"})
    with english, pytest.raises(ApiError) as refused:
        clean_picture(data)
    assert refused.value.code == code and refused.value.status == 400
    assert list(refused.value.fields) == ["picture"]

    product = make_product(app, title="手工皂")
    client = staff_client(app, "operator")
    response = _upload(client, product["product_id"], data, filename)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    problem = refused.value.fields["picture"]
    upload_form = page.split('name="picture"', 1)[1].split("</form>", 1)[0]
    assert f'<em class="error" role="alert">{problem}</em>' in upload_form

    assert _urls(app, product["product_id"]) == ["https://img.example/p.jpg"]
    assert media_files(app, "pictures") == []
    assert not Path(app.config["MEDIA_DIR"]).exists() or not [
        p
        for p in Path(app.config["MEDIA_DIR"]).rglob("*")
        if p.is_file() and ".locks" not in p.parts
    ]
    assert _audits(app, "product.picture_add") == 0


def test_a_body_beyond_the_upload_limit_is_refused_before_it_is_read(app: Flask) -> None:
    product = make_product(app)
    client = staff_client(app, "operator")
    response = _upload(client, product["product_id"], b"\0" * (2 * MAX_PICTURE_BYTES + 1))
    assert response.status_code == 413
    assert "picture" in response.get_data(as_text=True)
    assert media_files(app, "pictures") == []
    # Other panel forms keep the app's limit.
    token = csrf_from(client.get(_edit_url(product["product_id"])).get_data(as_text=True))
    big = client.post(
        f"/panel/products/{product['product_id']}/edit",
        data={"csrf_token": token, "description": "x" * (2 * 1024 * 1024)},
    )
    assert big.status_code == 413


def test_an_upload_needs_a_file_and_the_products_area(app: Flask) -> None:
    product = make_product(app)
    client = staff_client(app, "operator")
    token = csrf_from(client.get(_edit_url(product["product_id"])).get_data(as_text=True))
    empty = client.post(
        f"/panel/products/{product['product_id']}/pictures",
        data={"csrf_token": token},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400 and "choose a picture" in empty.get_data(as_text=True)
    no_token = client.post(
        f"/panel/products/{product['product_id']}/pictures",
        data={"picture": (io.BytesIO(_picture((9, 9, 9))), "a.png")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    finance = staff_client(app, "finance")
    finance_token = csrf_from(finance.get("/panel/").get_data(as_text=True))
    forbidden = finance.post(
        f"/panel/products/{product['product_id']}/pictures",
        data={"csrf_token": finance_token, "picture": (io.BytesIO(_picture((9, 9, 9))), "a.png")},
        content_type="multipart/form-data",
    )
    assert forbidden.status_code == 403
    assert _urls(app, product["product_id"]) == ["https://img.example/p.jpg"]
    assert media_files(app, "pictures") == []


# ---- reorder and delete --------------------------------------------------------------------


def test_reorder_and_delete_through_the_panel_redraw_posters_when_the_cover_changes(
    app: Flask,
) -> None:
    product = make_product(app, title="每日坚果")
    product_id = product["product_id"]
    client = staff_client(app, "operator")
    for colour in ((250, 0, 0), (0, 250, 0)):
        assert _upload(client, product_id, _picture(colour), "p.png").status_code == 303
    pasted, red, green = _urls(app, product_id)
    assert red.endswith(".png") and green.endswith(".png")
    sent: list[int] = []

    def shelved(sender: object, product_id: int) -> None:
        sent.append(product_id)

    with product_shelved.connected_to(shelved, sender=ANY):
        ids = _image_ids(app, product_id)
        assert _post(client, product_id, f"{ids[2]}/move", step="-1").status_code == 303
        assert _urls(app, product_id) == [pasted, green, red]
        assert sent == []  # the cover did not change
        assert _post(client, product_id, f"{ids[2]}/move", step="-1").status_code == 303
        assert _urls(app, product_id) == [green, pasted, red]
        assert sent == [product_id]
        assert _post(client, product_id, f"{ids[2]}/move", step="-1").status_code == 303
        assert _urls(app, product_id) == [green, pasted, red]  # first already
        assert _post(client, product_id, f"{ids[2]}/move", step="2").status_code == 400
        assert _post(client, product_id, f"{ids[0]}/delete").status_code == 303
        assert _urls(app, product_id) == [green, red]
        assert _post(client, product_id, f"{ids[2]}/delete").status_code == 303
        assert _urls(app, product_id) == [red]
        assert sent == [product_id, product_id]
        with app.app_context():
            facts = product_facts(product_id)
        assert facts is not None and facts.image_url == red

    other = make_product(app, title="别的商品")
    assert _post(client, other["product_id"], f"{ids[1]}/delete").status_code == 404
    assert _post(client, product_id, "999999/move", step="1").status_code == 404
    assert _urls(app, product_id) == [red]
    assert _audits(app, "product.picture_move") == 3
    assert _audits(app, "product.picture_delete") == 2
    assert client.get(green).status_code == 200  # the stored file stays (content-keyed)


def test_the_pasted_url_field_keeps_working_with_uploaded_pictures(app: Flask) -> None:
    product = make_product(app, title="竹纤维毛巾")
    product_id = product["product_id"]
    client = staff_client(app, "operator")
    assert _upload(client, product_id, _picture((10, 120, 200)), "p.png").status_code == 303
    _pasted, uploaded = _urls(app, product_id)
    page = client.get(_edit_url(product_id)).get_data(as_text=True)
    assert uploaded in page.split('name="image_urls"', 1)[1].split("</textarea>", 1)[0]
    form = {
        "csrf_token": csrf_from(page),
        "title": "竹纤维毛巾",
        "sort": "0",
        "image_urls": f"{uploaded}\nhttps://img.example/new.jpg",
    }
    response = client.post(_edit_url(product_id), data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    assert _urls(app, product_id) == [uploaded, "https://img.example/new.jpg"]
    form["image_urls"] = "/media/../etc/passwd"
    refused = client.post(_edit_url(product_id), data=form)
    assert refused.status_code == 400 and "not an http(s) URL" in refused.get_data(as_text=True)


# ---- demo pictures -------------------------------------------------------------------------


def test_demo_pictures_are_served_and_on_posters(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        assert seed_demo_catalogue() == 6
        rows = db.session.execute(
            select(Product.id, ProductImage.url).join(
                ProductImage, ProductImage.product_id == Product.id
            )
        ).all()
    assert len(rows) == 6 and len({url for _, url in rows}) == 6
    for _, url in rows:
        assert url.startswith("/media/pictures/")
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        picture = Image.open(io.BytesIO(response.data))
        assert picture.size == (640, 640) and len(response.data) < 60_000

    product_id = rows[0][0]
    dist = become_distributor(client, "pictures-1")
    poster = client.get(
        "/api/v1/distributor/poster",
        query_string={"product_id": product_id},
        headers=dist["headers"],
    )
    assert poster.status_code == 200, poster.get_json()
    top = Image.open(io.BytesIO(poster.data)).crop((0, 0, 750, 750))
    assert ImageStat.Stat(top.convert("L")).stddev[0] > 20  # the picture, not a grey block
    drawn = Image.open(io.BytesIO(client.get(rows[0][1]).data)).convert("RGB")
    corner = ImageStat.Stat(top.crop((10, 10, 60, 60))).mean
    expected = ImageStat.Stat(drawn.crop((10, 10, 60, 60))).mean
    assert all(abs(a - b) < 12 for a, b in zip(corner, expected, strict=True))


def test_seeding_again_draws_pictures_for_an_older_demo_catalogue(app: Flask) -> None:
    product = make_product(app, title="明前西湖龙井 250g")
    with app.app_context():
        image = db.session.scalars(
            select(ProductImage).where(ProductImage.product_id == product["product_id"])
        ).one()
        image.url = "/static/demo/3-0.jpg"
        db.session.commit()
        assert seed_demo_catalogue() == 0
    (url,) = _urls(app, product["product_id"])
    assert url.startswith("/media/pictures/") and len(media_files(app, "pictures")) == 1
