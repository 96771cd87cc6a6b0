"""Pictures on posters: decoding scaled to cover a box (centre crop), and the product
picture scaled once per size and kept in the media storage for every distributor's poster.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, UnidentifiedImageError

from wxdist.core.media import hashed_key, storage


def open_cover(data: bytes | None, size: tuple[int, int]) -> Image.Image | None:
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
    """The media key of `data` scaled to `size`."""
    digest = hashlib.sha256(data).hexdigest()
    return hashed_key("scaled", f"{digest}|{size[0]}x{size[1]}", "jpg")


def scaled_picture(data: bytes | None, size: tuple[int, int]) -> Image.Image | None:
    """A product picture cropped and scaled to `size`, from the storage when an earlier
    poster of the product scaled it already (every distributor's poster of a product shares
    it), else scaled now and kept (JPEG, quality 92, keyed by the picture's digest).
    None when `data` is not a picture."""
    if not data:
        return None
    key = scaled_key(data, size)
    store = storage()
    cached = store.get(key)
    if cached is not None:
        image = open_cover(cached, size)
        if image is not None:
            return image
    image = open_cover(data, size)
    if image is not None:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=92)
        store.put(key, out.getvalue())
    return image
