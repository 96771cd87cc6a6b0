"""Share posters drawn with Pillow: an invite poster (avatar, nickname, slogan, code) and a
product poster (image, name, price, code, the distributor's name).

A poster is JPEG, kept in the media storage under a content key: a digest of everything
drawn on it (template, scene and page of the code, nickname, avatar URL, product name,
price and image URL, renderer version). A request computes the key from a few primary-key
reads and serves the stored bytes; it draws only when one of those inputs changed, so the
poster follows the product, the template, the avatar and the name, and nothing else. A
poster drawn while a picture could not be fetched is served but not kept, so the next
request tries again.

The merchant changes a template (background colour or image, colours, texts, positions and
sizes) with `flask poster template set KIND key=value …`; overrides are kept as one JSON
record per kind over the defaults below.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from PIL import Image, ImageDraw, UnidentifiedImageError
from sqlalchemy import func, select

from wxdist import poster_text, share_codes, wxacode
from wxdist.errors import ApiError
from wxdist.extensions import db
from wxdist.media import LocalDirStorage, hashed_key, load_picture, storage
from wxdist.models import (
    Distributor,
    DistributorStatus,
    PosterTemplateRecord,
    Product,
    ProductImage,
    ShareCode,
    Sku,
    User,
)
from wxdist.models.types import utcnow

log = logging.getLogger(__name__)

RENDERER_VERSION = 1  # bump when drawing changes: every poster is redrawn on next request
KINDS = ("invite", "product")
JPEG_QUALITY = 88
PREDRAW_LIMIT = 200
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


# ---- templates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int  # 0 hides the element
    h: int


@dataclass(frozen=True)
class TextStyle:
    x: int
    y: int  # top of the first line
    w: int  # 0 hides the text
    size: int
    color: str
    lines: int = 1
    align: str = "left"  # left | center | right (x is then the centre or the right edge)


@dataclass(frozen=True)
class PosterTemplate:
    kind: str
    width: int = 750
    height: int = 1334
    background: str = "#ffffff"
    background_image: str = ""  # a media key (see `set_template`): drawn to cover
    band_color: str = "#e4393c"
    band: Box = Box(0, 0, 0, 0)
    image: Box = Box(0, 0, 0, 0)
    placeholder_color: str = "#f2f2f2"
    avatar: Box = Box(0, 0, 0, 0)
    avatar_color: str = "#f5a623"
    code: Box = Box(0, 0, 0, 0)
    title: TextStyle = TextStyle(0, 0, 0, 34, "#222222")
    price: TextStyle = TextStyle(0, 0, 0, 52, "#e4393c")
    nickname: TextStyle = TextStyle(0, 0, 0, 36, "#222222")
    slogan: TextStyle = TextStyle(0, 0, 0, 28, "#666666")
    hint: TextStyle = TextStyle(0, 0, 0, 22, "#999999")
    nickname_text: str = "{nickname}"
    slogan_text: str = "好物分享，边买边赚"
    hint_text: str = "长按识别小程序码"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@functools.lru_cache(maxsize=64)
def _template_digest(template: PosterTemplate) -> str:
    text = json.dumps(template.to_dict(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


DEFAULTS: dict[str, PosterTemplate] = {
    "product": PosterTemplate(
        kind="product",
        image=Box(0, 0, 750, 750),
        title=TextStyle(40, 786, 420, 34, "#222222", lines=2),
        price=TextStyle(40, 900, 420, 52, "#e4393c"),
        code=Box(490, 780, 220, 220),
        hint=TextStyle(600, 1008, 240, 22, "#999999", align="center"),
        band_color="#fafafa",
        band=Box(0, 1100, 750, 234),
        avatar=Box(40, 1150, 120, 120),
        nickname=TextStyle(184, 1160, 520, 34, "#222222"),
        nickname_text="{nickname} 为你推荐",
        slogan=TextStyle(184, 1214, 520, 26, "#888888", lines=2),
        slogan_text="好物分享，边买边赚",
    ),
    "invite": PosterTemplate(
        kind="invite",
        band=Box(0, 0, 750, 600),
        avatar=Box(295, 90, 160, 160),
        nickname=TextStyle(375, 290, 640, 40, "#ffffff", align="center"),
        nickname_text="{nickname}",
        slogan=TextStyle(375, 370, 600, 32, "#ffffff", lines=2, align="center"),
        slogan_text="邀请你一起来逛好物，分享赚佣金",
        code=Box(185, 700, 380, 380),
        hint=TextStyle(375, 1110, 600, 26, "#999999", align="center"),
    ),
}


def _overrides(kind: str) -> dict[str, Any]:
    record = db.session.get(PosterTemplateRecord, kind)
    return _parse_overrides(record.data if record is not None else None)


def _parse_overrides(raw: str | None) -> dict[str, Any]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@functools.lru_cache(maxsize=64)
def _template_from_record(kind: str, raw: str | None) -> PosterTemplate:
    """The template for a stored record's text (parsed once per distinct text)."""
    try:
        return _apply(DEFAULTS[kind], _parse_overrides(raw))
    except ApiError:  # a stored override the code no longer knows: use the defaults
        log.warning("ignoring invalid stored overrides of the %s poster template", kind)
        return DEFAULTS[kind]


def _apply(template: PosterTemplate, changes: dict[str, Any]) -> PosterTemplate:
    """`template` with dotted changes (`title.size`, `background`) applied and checked.
    Raises ApiError naming the key."""
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in changes.items():
        name, _, sub = key.partition(".")
        current = getattr(template, name, None)
        if name == "kind" or current is None:
            raise ApiError("unknown template key", fields={key: "no such key"})
        if sub:
            if not dataclasses.is_dataclass(current) or sub not in {
                f.name for f in dataclasses.fields(current)
            }:
                raise ApiError("unknown template key", fields={key: "no such key"})
            nested.setdefault(name, {})[sub] = _coerce(key, getattr(current, sub), value)
        else:
            if dataclasses.is_dataclass(current):
                raise ApiError("set one part at a time", fields={key: f"e.g. {key}.x"})
            top[name] = _coerce(key, current, value)
    for name, parts in nested.items():
        top[name] = dataclasses.replace(getattr(template, name), **parts)
    result = dataclasses.replace(template, **top)
    if not (200 <= result.width <= 2000 and 200 <= result.height <= 4000):
        raise ApiError("invalid template size", fields={"width": "200..2000, height 200..4000"})
    return result


def _coerce(key: str, current: Any, value: Any) -> Any:
    if isinstance(current, bool):
        raise ApiError("not settable", fields={key: "not settable"})
    if isinstance(current, int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ApiError("not an integer", fields={key: "an integer"}) from None
        if not -4000 <= number <= 4000:
            raise ApiError("out of range", fields={key: "-4000..4000"})
        return number
    text = str(value)
    if key.endswith(("color", "background")) and not _COLOR_RE.match(text):
        raise ApiError("not a colour", fields={key: "#rrggbb"})
    if key.endswith(".align") and text not in ("left", "center", "right"):
        raise ApiError("bad alignment", fields={key: "left, center or right"})
    if len(text) > 200:
        raise ApiError("too long", fields={key: "at most 200 characters"})
    return text


def get_template(kind: str) -> PosterTemplate:
    if kind not in DEFAULTS:
        raise ApiError("unknown poster kind", fields={"kind": "invite or product"})
    record = db.session.get(PosterTemplateRecord, kind)
    return _template_from_record(kind, record.data if record is not None else None)


def set_template(kind: str, changes: dict[str, Any]) -> PosterTemplate:
    """Merge `changes` (dotted keys) into the kind's overrides; commits. A
    `background_image` given as a file path is copied into the media storage. Every poster
    of that kind is redrawn on its next request (the content key holds the template)."""
    if kind not in DEFAULTS:
        raise ApiError("unknown poster kind", fields={"kind": "invite or product"})
    changes = dict(changes)
    image = changes.get("background_image")
    if image:
        changes["background_image"] = _store_background(str(image))
    merged = {**_overrides(kind), **changes}
    template = _apply(DEFAULTS[kind], merged)
    record = db.session.get(PosterTemplateRecord, kind)
    if record is None:
        record = PosterTemplateRecord(kind=kind)
        db.session.add(record)
    record.data = json.dumps(merged, ensure_ascii=False, sort_keys=True)
    record.updated_at = utcnow()
    db.session.commit()
    return template


def reset_template(kind: str) -> PosterTemplate:
    record = db.session.get(PosterTemplateRecord, kind)
    if record is not None:
        db.session.delete(record)
        db.session.commit()
    return get_template(kind)


def _store_background(path_or_key: str) -> str:
    from pathlib import Path

    path = Path(path_or_key)
    if not path.is_file():
        if storage().exists(path_or_key):
            return path_or_key
        raise ApiError("no such image file", fields={"background_image": "a readable file"})
    data = path.read_bytes()
    try:
        Image.open(io.BytesIO(data)).verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ApiError("not an image", fields={"background_image": "PNG or JPEG"}) from None
    key = hashed_key("templates", hashlib.sha256(data).hexdigest(), "img")
    storage().put(key, data)
    return key


# ---- inputs and content key -------------------------------------------------------------


@dataclass(frozen=True)
class ProductFacts:
    id: int
    title: str
    price_fen: int | None
    image_url: str


@dataclass(frozen=True)
class PosterInputs:
    template: PosterTemplate
    code: wxacode.CodeSpec
    nickname: str
    avatar_url: str
    product: ProductFacts | None = None

    @property
    def kind(self) -> str:
        return self.template.kind

    def content_key(self) -> str:
        code, product = self.code, self.product
        material = json.dumps(
            [
                RENDERER_VERSION,
                _template_digest(self.template),
                [code.scene, code.page, code.env_version, code.width],
                self.nickname,
                self.avatar_url,
                [product.id, product.title, product.price_fen, product.image_url]
                if product
                else None,
            ],
            ensure_ascii=False,
        )
        return hashed_key(f"posters/{self.kind}", material, "jpg")


def product_facts(product_id: int) -> ProductFacts | None:
    """What a product poster shows, in one query."""
    price = (
        select(func.min(Sku.price_fen))
        .where(Sku.product_id == Product.id, Sku.is_active.is_(True))
        .scalar_subquery()
    )
    image = (
        select(ProductImage.url)
        .where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.sort, ProductImage.id)
        .limit(1)
        .scalar_subquery()
    )
    row = db.session.execute(
        select(Product.id, Product.title, price, image).where(Product.id == product_id)
    ).first()
    if row is None:
        return None
    return ProductFacts(int(row[0]), row[1], None if row[2] is None else int(row[2]), row[3] or "")


def display_name(user: User) -> str:
    name = poster_text.clean(user.nickname or "").strip()
    return name or "微信用户"


# ---- serving ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Poster:
    key: str
    jpeg: bytes | None  # the bytes, or
    scene: str
    cacheable: bool  # False: drawn without a picture that could not be fetched
    path: str | None = None  # the stored file (local storage), sent with sendfile

    def read(self) -> bytes:
        if self.jpeg is not None:
            return self.jpeg
        assert self.path is not None
        with open(self.path, "rb") as fh:
            return fh.read()


def inputs_for(user: User, product_id: int | None, channel: str = "") -> PosterInputs:
    """Everything a poster of this distributor shows. Raises Forbidden / NotFound /
    ApiError as share_codes.get_or_create does."""
    code = share_codes.get_or_create(user.id, product_id, channel)
    facts = product_facts(product_id) if product_id is not None else None
    return PosterInputs(
        template=get_template("product" if product_id is not None else "invite"),
        code=wxacode.spec_for(code.scene),
        nickname=user.nickname or "",
        avatar_url=user.avatar_url or "",
        product=facts,
    )


_FAST_QUERY: Any = None


def _fast_query() -> Any:
    """Every input of a stored poster in one statement (built once, compiled once)."""
    global _FAST_QUERY
    if _FAST_QUERY is None:
        from sqlalchemy import and_, bindparam, literal_column

        price = (
            select(func.min(Sku.price_fen))
            .where(Sku.product_id == Product.id, Sku.is_active.is_(True))
            .scalar_subquery()
        )
        image = (
            select(ProductImage.url)
            .where(ProductImage.product_id == Product.id)
            .order_by(ProductImage.sort, ProductImage.id)
            .limit(1)
            .scalar_subquery()
        )
        template = (
            select(PosterTemplateRecord.data)
            .where(PosterTemplateRecord.kind == bindparam("kind"))
            .scalar_subquery()
        )
        _FAST_QUERY = (
            select(
                User.token_version,
                User.nickname,
                User.avatar_url,
                Distributor.status,
                ShareCode.scene,
                Product.id,
                Product.title,
                Product.on_shelf,
                price,
                image,
                template,
            )
            .select_from(User)
            .join(Distributor, Distributor.user_id == User.id)
            .join(
                ShareCode,
                and_(
                    ShareCode.distributor_id == User.id,
                    ShareCode.product_key == bindparam("product_key"),
                    ShareCode.channel == bindparam("channel"),
                ),
            )
            .outerjoin(Product, Product.id == ShareCode.product_key)
            .where(User.id == bindparam("user_id"))
            .limit(literal_column("1"))
        )
    return _FAST_QUERY


_RECENT_MAX = 10_000


def stored_poster(
    user_id: int, token_version: object, product_id: int | None, channel: str
) -> Poster | None:
    """The stored poster, found with one query, when everything is as it was when it was
    drawn: the token's version is current, the user an approved distributor with a code
    for (product, channel), the product on shelf, and a poster with these inputs stored.
    None otherwise: the caller takes the full path, which says what is wrong or draws.

    What that query found is trusted for POSTER_RECHECK_SECONDS (2 by default; 0: every
    request asks the database) in this process: a change of product, name, avatar,
    template or a revoked token shows in the poster served within that time.
    """
    config = current_app.config
    ttl = float(config.get("POSTER_RECHECK_SECONDS", 0))
    recent: dict[tuple[Any, ...], tuple[float, Poster]] = current_app.extensions.setdefault(
        "wxdist_recent_posters", {}
    )
    memo = (config["MEDIA_DIR"], user_id, token_version, product_id, channel)
    if ttl > 0:
        hit = recent.get(memo)
        if hit is not None and hit[0] > time.monotonic():
            poster = hit[1]
            if poster.path is None or os.path.isfile(poster.path):
                return poster
    poster = _stored_poster(user_id, token_version, product_id, channel)
    if ttl > 0 and poster is not None:
        if len(recent) >= _RECENT_MAX:
            recent.clear()
        recent[memo] = (time.monotonic() + ttl, poster)
    return poster


def _stored_poster(
    user_id: int, token_version: object, product_id: int | None, channel: str
) -> Poster | None:
    row = (
        db.session.connection()
        .execute(  # Core: no ORM layer for plain columns
            _fast_query(),
            {
                "user_id": user_id,
                "product_key": product_id or 0,
                "channel": channel,
                "kind": "product" if product_id is not None else "invite",
            },
        )
        .first()
    )
    if (
        row is None
        or row[0] != token_version
        or row[3] != DistributorStatus.APPROVED
        or (product_id is not None and (row[5] is None or not row[7]))
    ):
        return None
    kind = "product" if product_id is not None else "invite"
    inputs = PosterInputs(
        template=_template_from_record(kind, row[10]),
        code=wxacode.spec_for(row[4]),
        nickname=row[1] or "",
        avatar_url=row[2] or "",
        product=ProductFacts(
            int(row[5]), row[6], None if row[8] is None else int(row[8]), row[9] or ""
        )
        if product_id is not None
        else None,
    )
    key = inputs.content_key()
    store = storage()
    if isinstance(store, LocalDirStorage):
        path = store.path(key)
        return Poster(key, None, row[4], True, str(path)) if path.is_file() else None
    jpeg = store.get(key)
    return Poster(key, jpeg, row[4], True) if jpeg is not None else None


def get_poster(user: User, product_id: int | None = None, channel: str = "") -> Poster:
    """The stored poster, or a fresh drawing (kept unless a picture was missing for now)."""
    inputs = inputs_for(user, product_id, channel)
    key = inputs.content_key()
    store = storage()
    jpeg = store.get(key)
    if jpeg is not None:
        return Poster(key, jpeg, inputs.code.scene, True)
    return draw_and_store(inputs)


def draw_and_store(inputs: PosterInputs) -> Poster:
    code_png = wxacode.get_code(inputs.code)
    avatar = load_picture(inputs.avatar_url)
    picture = load_picture(inputs.product.image_url) if inputs.product else None
    background = (
        storage().get(inputs.template.background_image)
        if inputs.template.background_image
        else None
    )
    jpeg = render(inputs, code_png, avatar.data, picture.data if picture else None, background)
    cacheable = not avatar.retry and not (picture and picture.retry)
    key = inputs.content_key()
    if cacheable:
        storage().put(key, jpeg)
    return Poster(key, jpeg, inputs.code.scene, cacheable)


# ---- drawing -----------------------------------------------------------------------------


def _open(data: bytes | None, size: tuple[int, int]) -> Image.Image | None:
    """Decode a picture scaled to cover `size` (centre crop), or None if it is not one."""
    if not data or size[0] <= 0 or size[1] <= 0:
        return None
    try:
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", size)  # JPEG: decode at the smallest scale still >= size
        image = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    if image.size == size:
        return image
    w, h = image.size
    scale = max(size[0] / w, size[1] / h)
    crop_w, crop_h = size[0] / scale, size[1] / scale
    left, top = (w - crop_w) / 2, (h - crop_h) / 2
    return image.resize(
        size, Image.Resampling.BILINEAR, box=(left, top, left + crop_w, top + crop_h)
    )


def scaled_key(data: bytes, size: tuple[int, int]) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return hashed_key("scaled", f"{digest}|{size[0]}x{size[1]}", "jpg")


def scaled_picture(data: bytes | None, size: tuple[int, int]) -> Image.Image | None:
    """A product picture cropped and scaled to `size`, from the storage when an earlier
    poster of the product scaled it already (every distributor's poster of a product shares
    it), else scaled now and kept (JPEG, quality 92, keyed by the picture's digest)."""
    if not data:
        return None
    key = scaled_key(data, size)
    store = storage()
    cached = store.get(key)
    if cached is not None:
        image = _open(cached, size)
        if image is not None:
            return image
    image = _open(data, size)
    if image is not None:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=92)
        store.put(key, out.getvalue())
    return image


def _draw_avatar(
    canvas: Image.Image, draw: ImageDraw.ImageDraw, t: PosterTemplate, data: bytes | None, name: str
) -> None:
    box = t.avatar
    if box.w <= 0:
        return
    size = (box.w, box.w)
    mask = _disc(box.w)
    picture = _open(data, size)
    if picture is None:  # no avatar: a coloured disc with the name's first character
        picture = Image.new("RGB", size, t.avatar_color)
        initial = poster_text.fit(name, int(box.w * 0.45), box.w)[:1]
        if initial and initial[0].char != "…":
            sub = ImageDraw.Draw(picture)
            text_size = int(box.w * 0.45)
            ascent, descent = poster_text.font(0, text_size).getmetrics()
            baseline = box.w / 2 + (ascent - descent) / 2
            poster_text.draw_line(sub, initial, box.w / 2, baseline, text_size, "#ffffff", "center")
    canvas.paste(
        "#ffffff", (box.x - 4, box.y - 4, box.x + box.w + 4, box.y + box.w + 4), _disc(box.w + 8)
    )
    canvas.paste(picture, (box.x, box.y), mask)


@functools.lru_cache(maxsize=16)
def _disc(diameter: int) -> Image.Image:
    """A circle mask with a smooth (supersampled) edge; drawn once per size."""
    big = Image.new("L", (diameter * 3, diameter * 3), 0)
    ImageDraw.Draw(big).ellipse((0, 0, diameter * 3 - 1, diameter * 3 - 1), fill=255)
    return big.resize((diameter, diameter), Image.Resampling.LANCZOS)


def _text(
    draw: ImageDraw.ImageDraw, style: TextStyle, text: str, fallback_color: str | None = None
) -> None:
    if style.w <= 0 or not text.strip():
        return
    poster_text.draw_text(
        draw,
        text,
        x=style.x,
        y=style.y,
        size=style.size,
        max_width=style.w,
        max_lines=max(1, style.lines),
        fill=style.color or fallback_color or "#000000",
        align=style.align,
    )


def format_price(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"¥{fen // 100}.{fen % 100:02d}"


def render(
    inputs: PosterInputs,
    code_png: bytes,
    avatar: bytes | None,
    picture: bytes | None,
    background: bytes | None = None,
) -> bytes:
    """Draw the poster; JPEG bytes. Missing pictures get placeholders, never an error."""
    t = inputs.template
    canvas = Image.new("RGB", (t.width, t.height), t.background)
    if background:
        cover = _open(background, (t.width, t.height))
        if cover is not None:
            canvas.paste(cover, (0, 0))
    draw = ImageDraw.Draw(canvas)
    if t.band.w > 0 and t.band.h > 0:
        draw.rectangle(
            (t.band.x, t.band.y, t.band.x + t.band.w - 1, t.band.y + t.band.h - 1),
            fill=t.band_color,
        )
    name = inputs.nickname.strip() or "微信用户"
    if inputs.product is not None and t.image.w > 0 and t.image.h > 0:
        image = scaled_picture(picture, (t.image.w, t.image.h))
        if image is None:
            draw.rectangle(
                (t.image.x, t.image.y, t.image.x + t.image.w - 1, t.image.y + t.image.h - 1),
                fill=t.placeholder_color,
            )
        else:
            canvas.paste(image, (t.image.x, t.image.y))
    if t.code.w > 0:
        code = Image.open(io.BytesIO(code_png)).convert("RGB")
        code = code.resize((t.code.w, t.code.w), Image.Resampling.BILINEAR, reducing_gap=2.0)
        canvas.paste(code, (t.code.x, t.code.y))
    _draw_avatar(canvas, draw, t, avatar, name)
    if inputs.product is not None:
        _text(draw, t.title, inputs.product.title)
        _text(draw, t.price, format_price(inputs.product.price_fen))
    _text(draw, t.nickname, t.nickname_text.replace("{nickname}", name))
    _text(draw, t.slogan, t.slogan_text.replace("{nickname}", name))
    _text(draw, t.hint, t.hint_text)
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


# ---- drawing ahead (jobs/posters.py) -----------------------------------------------------


def predraw_for_distributor(user_id: int, limit: int = PREDRAW_LIMIT) -> int:
    """Draw a new distributor's invite poster and the posters of the first on-shelf
    products (default channel). Returns the posters drawn (0 if not approved)."""
    user = db.session.get(User, user_id)
    if user is None or not share_codes.is_active_distributor(user_id):
        return 0
    drawn = _predraw(user, None)
    product_ids = db.session.scalars(
        select(Product.id).where(Product.on_shelf.is_(True)).order_by(Product.sort, Product.id)
    ).all()
    for product_id in product_ids[: max(0, limit - 1)]:
        drawn += _predraw(user, product_id)
    return drawn


def predraw_for_product(product_id: int, limit: int = PREDRAW_LIMIT) -> int:
    """Draw a product's poster for the most recently approved distributors."""
    product = db.session.get(Product, product_id)
    if product is None or not product.on_shelf:
        return 0
    users = db.session.scalars(
        select(User)
        .join(Distributor, Distributor.user_id == User.id)
        .where(Distributor.status == DistributorStatus.APPROVED)
        .order_by(Distributor.approved_at.desc(), User.id.desc())
        .limit(limit)
    ).all()
    return sum(_predraw(user, product_id) for user in users)


def _predraw(user: User, product_id: int | None) -> int:
    inputs = inputs_for(user, product_id)
    if storage().exists(inputs.content_key()):
        return 0
    draw_and_store(inputs)
    return 1
