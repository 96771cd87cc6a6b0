"""Posters: drawn with Pillow in a CJK font from PyPI, emoji and missing glyphs never break
them, long names wrap or end with an ellipsis; JPEG, cached by content key, redrawn only
when what they show changes; drawn ahead by a job on approval and on shelf."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageStat

from tests.share_helpers import decode_qr, give_picture, media_files
from tests.shop import become_distributor, login, make_product
from wxdist.core.extensions import db
from wxdist.models import Product, Sku
from wxdist.sharing.posters import text as poster_text

# Emoji, a stray tag character, a ZWJ family, a private-use character.
EMOJI_NICKNAME = "小明\U000e0067😀🎉同学👨‍👩‍👧\ue000"
LONG_NAME = (
    "新疆阿克苏冰糖心苹果当季新鲜水果整箱10斤装大果径85mm以上脆甜多汁"
    "产地直发坏果包赔送礼佳品年货礼盒装家庭实惠装特价款"
)


@pytest.fixture(autouse=True)
def _media(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A media directory of this test's own; every request checks the database (the
    window in which a served poster may lag a change has its own test)."""
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "POSTER_RECHECK_SECONDS", 0)


def _poster(client: FlaskClient, headers: dict[str, str], **params: object):  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/distributor/poster", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "image/jpeg"
    return response


def _region(image: Image.Image, box: tuple[int, int, int, int]) -> ImageStat.Stat:
    return ImageStat.Stat(image.crop(box).convert("L"))


def test_a_product_poster_with_emoji_nickname_long_name_and_no_avatar(
    client: FlaskClient, app: Flask
) -> None:
    assert len(LONG_NAME) == 60
    product = make_product(app, title=LONG_NAME, price_fen=12990)
    give_picture(app, product["product_id"])
    dist = become_distributor(client, "poster-1")
    login(client, "poster-1", nickname=EMOJI_NICKNAME)  # and no avatar_url

    response = _poster(client, dist["headers"], product_id=product["product_id"])
    scene = response.headers["X-Share-Scene"]
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "JPEG" and image.size == (750, 1334)
    assert decode_qr(response.data) == [f"pages/index/index?scene={scene}"]

    # The product picture fills the top; the missing avatar is a coloured disc.
    assert _region(image, (0, 0, 750, 750)).stddev[0] > 30
    avatar = image.getpixel((52, 1150 + 60))  # inside the disc, left of the initial
    assert avatar != (250, 250, 250) and max(avatar) - min(avatar) > 60  # orange, not blank
    # Name, price and the distributor's line are drawn (ink in their boxes).
    assert _region(image, (40, 786, 460, 880)).mean[0] < 235
    assert _region(image, (40, 900, 460, 960)).mean[0] < 245
    assert _region(image, (184, 1160, 704, 1200)).mean[0] < 245


def test_text_wraps_by_width_ends_with_an_ellipsis_and_never_draws_tofu(app: Flask) -> None:
    lines = poster_text.wrap(LONG_NAME, 34, 420, max_lines=2)
    assert len(lines) == 2
    assert all(sum(g.width for g in line) <= 420 for line in lines)
    assert poster_text.line_text(lines[-1]).endswith("…")
    assert poster_text.line_text(lines[0]) + poster_text.line_text(lines[1])[:-1] in LONG_NAME

    short = poster_text.wrap("苹果", 34, 420, max_lines=2)
    assert [poster_text.line_text(line) for line in short] == ["苹果"]
    latin = poster_text.wrap("Fresh apples from the Aksu valley, crisp and sweet", 30, 300, 3)
    assert all(not poster_text.line_text(line).startswith(" ") for line in latin)
    assert poster_text.line_text(latin[0]).endswith(("apples", "from", "the"))

    glyphs = poster_text.glyphs(EMOJI_NICKNAME, 30)
    kept = "".join(g.char for g in glyphs)
    assert "\ue000" not in kept and "\U000e0067" not in kept  # no font has them: left out
    assert kept.startswith("小明😀🎉同学")
    fonts = {g.char: poster_text.font_files()[g.slot].name for g in glyphs}
    assert fonts["小"] == "cjk" and fonts["😀"] == "emoji" and fonts["👨"] == "emoji"
    for glyph in glyphs:  # every character drawn is in its font's character map
        assert ord(glyph.char) in poster_text._cmap(glyph.slot)
    assert poster_text.clean("\ue000\U000e0067") == ""


def test_an_invite_poster_carries_the_code_and_the_nickname(
    client: FlaskClient, app: Flask
) -> None:
    dist = become_distributor(client, "poster-2")
    login(client, "poster-2", nickname="🌸Lily", avatar_url="")
    response = _poster(client, dist["headers"], channel="moments")
    scene = response.headers["X-Share-Scene"]
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (750, 1334)
    assert decode_qr(response.data) == [f"pages/index/index?scene={scene}"]
    links = client.get(
        "/api/v1/distributor/share-link",
        query_string={"channel": "moments"},
        headers=dist["headers"],
    ).get_json()
    assert links["scene"] == scene
    band = image.getpixel((20, 20))
    assert band[0] > 200 and band[1] < 100  # the red band of the default template


def test_posters_are_cached_and_redrawn_only_when_what_they_show_changes(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, title="每日坚果")
    give_picture(app, product["product_id"])
    dist = become_distributor(client, "poster-3")
    h = dist["headers"]
    params = {"product_id": product["product_id"]}

    first = _poster(client, h, **params)
    etag = first.headers["ETag"]
    assert len(media_files(app, "posters")) == 1
    stored = media_files(app, "posters")[0]
    mtime = stored.stat().st_mtime_ns
    second = _poster(client, h, **params)
    assert second.headers["ETag"] == etag and second.data == first.data
    assert stored.stat().st_mtime_ns == mtime  # served, not redrawn
    not_modified = client.get(
        "/api/v1/distributor/poster", query_string=params, headers={**h, "If-None-Match": etag}
    )
    assert not_modified.status_code == 304 and not not_modified.data

    # What the poster does not show changes nothing.
    with app.app_context():
        db.session.get(Product, product["product_id"]).sort = 9
        db.session.get(Product, product["product_id"]).description = "新描述"
        db.session.commit()
    assert _poster(client, h, **params).headers["ETag"] == etag

    seen = {etag}

    def changed() -> str:
        tag = _poster(client, h, **params).headers["ETag"]
        assert tag not in seen
        seen.add(tag)
        return tag

    with app.app_context():
        db.session.get(Sku, product["sku_id"]).price_fen = 2590
        db.session.commit()
    changed()  # the price
    with app.app_context():
        db.session.get(Product, product["product_id"]).title = "每日坚果 30 包"
        db.session.commit()
    changed()  # the name
    login(client, "poster-3", nickname="新名字")
    changed()  # the distributor's name
    login(client, "poster-3", avatar_url="https://thirdwx.qlogo.cn/mmopen/abc/132")
    changed()  # the avatar (not fetched here: MEDIA_FETCH_REMOTE is off in tests)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["poster", "template", "set", "product", "background=#fff8f0", "title.size=36"]
    )
    assert result.exit_code == 0, result.output
    changed()  # the template
    assert len(media_files(app, "posters")) == len(seen)
    # The invite poster is its own picture, unaffected by the product template.
    assert _poster(client, h).headers["ETag"] not in seen


def test_the_merchant_changes_the_template_from_the_command_line(
    client: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    background = tmp_path / "bg.png"
    Image.new("RGB", (100, 100), (10, 120, 200)).save(background)
    result = runner.invoke(
        args=[
            "poster",
            "template",
            "set",
            "invite",
            f"background_image={background}",
            "band.h=0",
            "hint_text=扫码加入我们",
            "code.x=200",
        ]
    )
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["poster", "template", "show", "invite"]).output
    assert "hint_text = 扫码加入我们" in shown and "x=200" in shown

    for bad, field in (
        ("title.size=abc", "title.size"),
        ("nope=1", "nope"),
        ("background=red", "background"),
        ("title=3", "title"),
        ("title.align=middle", "title.align"),
    ):
        result = runner.invoke(args=["poster", "template", "set", "invite", bad])
        assert result.exit_code != 0 and field in result.output, (bad, result.output)

    dist = become_distributor(client, "poster-4")
    response = _poster(client, dist["headers"])
    image = Image.open(io.BytesIO(response.data))
    assert image.getpixel((20, 20)) == pytest.approx((10, 120, 200), abs=6)  # the background
    assert decode_qr(response.data) == [
        f"pages/index/index?scene={response.headers['X-Share-Scene']}"
    ]
    runner.invoke(args=["poster", "template", "reset", "invite"])
    assert "x=185" in runner.invoke(args=["poster", "template", "show", "invite"]).output


def test_posters_are_drawn_ahead_on_approval_and_on_shelf(
    client: FlaskClient, app: Flask, run_jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "POSTER_PREDRAW", True)
    on = make_product(app, title="上架商品")
    off = make_product(app, title="待上架商品", on_shelf=False)
    dist = become_distributor(client, "poster-5")  # approved at once: a job draws ahead
    run_jobs()
    assert len(media_files(app, "posters/invite")) == 1
    assert len(media_files(app, "posters/product")) == 1

    result = app.test_cli_runner().invoke(args=["product", "shelf", str(off["product_id"]), "--on"])
    assert result.exit_code == 0 and "on shelf" in result.output
    run_jobs()
    drawn = media_files(app, "posters/product")
    assert len(drawn) == 2
    # The first request is served from what was drawn ahead.
    for params in ({}, {"product_id": on["product_id"]}, {"product_id": off["product_id"]}):
        _poster(client, dist["headers"], **params)
    assert media_files(app, "posters/product") == drawn
    assert len(media_files(app, "posters/invite")) == 1


def test_a_change_shows_within_the_recheck_window(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setitem(app.config, "POSTER_RECHECK_SECONDS", 1)
    product = make_product(app, title="坚果")
    dist = become_distributor(client, "poster-6")
    params = {"product_id": product["product_id"]}
    etag = _poster(client, dist["headers"], **params).headers["ETag"]  # drawn
    assert _poster(client, dist["headers"], **params).headers["ETag"] == etag  # found
    with app.app_context():
        db.session.get(Product, product["product_id"]).title = "坚果礼盒"
        db.session.commit()
    assert _poster(client, dist["headers"], **params).headers["ETag"] == etag  # trusted 1 s
    time.sleep(1.1)
    assert _poster(client, dist["headers"], **params).headers["ETag"] != etag
    # Off the shelf, revoked or disabled: the full path answers, whatever was trusted.
    with app.app_context():
        db.session.get(Product, product["product_id"]).on_shelf = False
        db.session.commit()
    time.sleep(1.1)
    response = client.get(
        "/api/v1/distributor/poster", query_string=params, headers=dist["headers"]
    )
    assert response.status_code == 404
    assert "product_id" in response.get_json()["error"]["fields"]
    bad = client.get("/api/v1/distributor/poster", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
