"""Drawing a poster with Pillow from its inputs and fetched pictures: background, band,
product picture, code, avatar disc and texts, as JPEG. Missing pictures get placeholders.
"""

from __future__ import annotations

import functools
import io
from decimal import Decimal

from PIL import Image, ImageDraw

from wxdist.core.money import yuan_text
from wxdist.sharing.posters import text
from wxdist.sharing.posters.inputs import CouponFacts, PosterInputs
from wxdist.sharing.posters.pictures import open_cover, scaled_picture
from wxdist.sharing.posters.templates import PosterTemplate, TextStyle

JPEG_QUALITY = 88


def _draw_avatar(
    canvas: Image.Image, draw: ImageDraw.ImageDraw, t: PosterTemplate, data: bytes | None, name: str
) -> None:
    box = t.avatar
    if box.w <= 0:
        return
    size = (box.w, box.w)
    mask = _disc(box.w)
    picture = open_cover(data, size)
    if picture is None:  # no avatar: a coloured disc with the name's first character
        picture = Image.new("RGB", size, t.avatar_color)
        initial = text.fit(name, int(box.w * 0.45), box.w)[:1]
        if initial and initial[0].char != "…":
            sub = ImageDraw.Draw(picture)
            text_size = int(box.w * 0.45)
            ascent, descent = text.font(0, text_size).getmetrics()
            baseline = box.w / 2 + (ascent - descent) / 2
            text.draw_line(sub, initial, box.w / 2, baseline, text_size, "#ffffff", "center")
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
    draw: ImageDraw.ImageDraw, style: TextStyle, content: str, fallback_color: str | None = None
) -> None:
    if style.w <= 0 or not content.strip():
        return
    text.draw_text(
        draw,
        content,
        x=style.x,
        y=style.y,
        size=style.size,
        max_width=style.w,
        max_lines=max(1, style.lines),
        fill=style.color or fallback_color or "#000000",
        align=style.align,
    )


def format_price(fen: int | None) -> str:
    return "" if fen is None else yuan_text(fen)


def coupon_line(t: PosterTemplate, coupon: CouponFacts) -> str:
    """ "领券立减¥20.00（满¥100.00可用）" or "领券享8.5折", by the template's texts."""
    if coupon.off_fen is not None:
        line = t.coupon_amount_text.replace("{amount}", format_price(coupon.off_fen))
    else:
        tenths = Decimal(coupon.pay_rate_bp or 0) / 1000
        line = t.coupon_rate_text.replace("{rate}", f"{tenths.normalize():f}")
    if coupon.threshold_fen > 0:
        line += t.coupon_threshold_text.replace("{threshold}", format_price(coupon.threshold_fen))
    return line


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
        cover = open_cover(background, (t.width, t.height))
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
    if inputs.coupon is not None:
        _text(draw, t.coupon, coupon_line(t, inputs.coupon))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
