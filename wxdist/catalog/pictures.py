"""Product pictures the merchant uploads: checked, cleaned, stored, ordered, deleted.

An upload is trusted for nothing: its format is read from its content by Pillow (JPEG,
PNG or WebP; never the file name or the client's content type), it may be at most
MAX_PICTURE_BYTES long and MAX_PIXELS large (checked from the header, before any pixel is
decoded, so a decompression bomb is refused cheaply), and it is decoded, turned upright by
its EXIF orientation and encoded again without any metadata (EXIF with its GPS position,
XMP, ICC, comments, text chunks, trailing bytes). The clean bytes are kept in the media
storage under a digest of their content (`pictures/ab/ab….jpg`) and the product gets a
`ProductImage` whose URL is `/media/<key>`.

Refusals raise ApiError 400 naming the field `picture`, with the codes
`unsupported_picture`, `picture_too_large`, `picture_too_many_pixels` and
`too_many_pictures`; nothing is stored and no row is written when a picture is refused.
A stored picture is never deleted with its row: another product may show the same bytes,
and its key never changes meaning.

Each function that changes a product commits and, when the first picture changed on an
on-shelf product, has its posters drawn again (`catalog.admin.refresh_posters`).
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from wxdist.catalog.admin import MAX_IMAGES, get_product, refresh_posters
from wxdist.catalog.face import product_facts
from wxdist.core.errors import ApiError, NotFound
from wxdist.core.extensions import db
from wxdist.core.media import MEDIA_URL_PREFIX, hashed_key, storage
from wxdist.models import ProductImage

FIELD = "picture"
MAX_PICTURE_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 40 megapixels: more than any phone photo, far below a bomb
FORMATS = ("JPEG", "PNG", "WEBP")
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
JPEG_QUALITY = 85
WEBP_QUALITY = 85
# What Pillow raises on bytes it cannot make sense of (untrusted input: each is a refusal).
_UNREADABLE = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error)


@dataclass(frozen=True)
class CleanPicture:
    """A picture decoded and encoded again, with nothing but its pixels."""

    data: bytes
    format: str  # JPEG, PNG or WEBP
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def _refuse(code: str, problem: str) -> ApiError:
    return ApiError(
        _("the picture was refused: %(problem)s", problem=problem),
        code=code,
        fields={FIELD: problem},
    )


def _too_many_pixels() -> ApiError:
    return _refuse(
        code="picture_too_many_pixels",
        problem=_("at most %(count)s megapixels", count=MAX_PIXELS // 1_000_000),
    )


def _open(data: bytes) -> Image.Image:
    """The picture's header read (no pixels decoded yet). Raises ApiError for bytes that are
    not JPEG, PNG or WebP, or whose header claims more than MAX_PIXELS."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except _UNREADABLE as exc:
        raise _refuse(
            code="unsupported_picture", problem=_("not a JPEG, PNG or WebP picture")
        ) from exc
    if image.format not in FORMATS:
        raise _refuse(code="unsupported_picture", problem=_("not a JPEG, PNG or WebP picture"))
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise _too_many_pixels()
    return image


def _pixels(image: Image.Image) -> Image.Image:
    """Decode, turn upright, and drop every piece of metadata; RGB, L or RGBA only."""
    try:
        image.load()
        upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except _UNREADABLE as exc:
        raise _refuse(
            code="unsupported_picture", problem=_("a damaged or incomplete picture")
        ) from exc
    transparent = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    if image.format == "JPEG":
        mode = "L" if upright.mode == "L" else "RGB"
    else:
        mode = "RGBA" if transparent else "RGB"
    clean = upright.convert(mode) if upright.mode != mode else upright.copy()
    clean.info = {}
    return clean


def clean_picture(data: bytes) -> CleanPicture:
    """`data` checked and encoded again in its own format without metadata. Raises
    ApiError naming `picture`: `picture_too_large` over MAX_PICTURE_BYTES (before
    decoding), `unsupported_picture` for anything but a readable JPEG, PNG or WebP,
    `picture_too_many_pixels` over MAX_PIXELS."""
    if len(data) > MAX_PICTURE_BYTES:
        raise _refuse(
            code="picture_too_large",
            problem=_("at most %(count)s MB", count=MAX_PICTURE_BYTES // (1024 * 1024)),
        )
    if not data:
        raise _refuse(code="unsupported_picture", problem=_("an empty file"))
    with _open(data) as image:
        fmt = str(image.format)
        pixels = _pixels(image)
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "PNG":
        pixels.save(out, "PNG", optimize=True)
    else:
        pixels.save(out, "WEBP", quality=WEBP_QUALITY)
    return CleanPicture(out.getvalue(), fmt, pixels.width, pixels.height)


def store_picture(picture: CleanPicture) -> str:
    """Keep a clean picture in the media storage (once per content); returns its URL."""
    digest = hashlib.sha256(picture.data).hexdigest()
    key = hashed_key("pictures", digest, picture.extension)
    store = storage()
    if not store.exists(key):
        store.put(key, picture.data)
    return MEDIA_URL_PREFIX + key


# ---- a product's pictures ---------------------------------------------------------------


def _ordered(product_id: int) -> list[ProductImage]:
    return sorted(get_product(product_id).images, key=lambda image: (image.sort, image.id))


def _find(images: list[ProductImage], image_id: int) -> int:
    for index, image in enumerate(images):
        if image.id == image_id:
            return index
    raise NotFound(_("no such picture"), fields={"image_id": _("not found")})


def add_picture(product_id: int, data: bytes) -> ProductImage:
    """Clean and store an uploaded picture and add it last to the product's pictures;
    commits. Raises NotFound for no such product, ApiError naming `picture` when the
    product has MAX_IMAGES already (`too_many_pictures`) or as `clean_picture` does."""
    images = _ordered(product_id)
    if len(images) >= MAX_IMAGES:
        db.session.rollback()
        raise _refuse(
            code="too_many_pictures",
            problem=_("a product has at most %(count)s pictures", count=MAX_IMAGES),
        )
    try:
        picture = clean_picture(data)
    except ApiError:
        db.session.rollback()
        raise
    facts = product_facts(product_id)
    url = store_picture(picture)
    row = ProductImage(product_id=product_id, url=url, sort=images[-1].sort + 1 if images else 0)
    db.session.add(row)
    db.session.commit()
    refresh_posters(product_id, facts)
    return row


def bad_move() -> ApiError:
    """The refusal of a move other than one place earlier or later."""
    return ApiError(_("bad move"), fields={"step": _("-1 (earlier) or 1 (later)")})


def move_picture(product_id: int, image_id: int, step: int) -> list[str]:
    """Move a picture one place earlier (`step` -1) or later (+1); the first is the cover.
    Commits; returns the URLs in their new order (unchanged at either end). Raises NotFound
    for no such product or picture of it, ApiError naming `step` for another step."""
    if step not in (-1, 1):
        raise bad_move()
    images = _ordered(product_id)
    index = _find(images, image_id)
    target = index + step
    facts = product_facts(product_id)
    if 0 <= target < len(images):
        images[index], images[target] = images[target], images[index]
        for sort, image in enumerate(images):
            image.sort = sort
    db.session.commit()
    refresh_posters(product_id, facts)
    return [image.url for image in images]


def delete_picture(product_id: int, image_id: int) -> str:
    """Remove a picture from the product (the stored file stays; see the module's
    docstring); commits; returns its URL. Raises NotFound for no such product or picture
    of it."""
    images = _ordered(product_id)
    image = images[_find(images, image_id)]
    facts = product_facts(product_id)
    url = image.url
    db.session.delete(image)
    db.session.commit()
    refresh_posters(product_id, facts)
    return url
