"""Poster templates: their shape (boxes, text styles, colours, texts), the defaults of each
kind, and checking a merchant's dotted changes (`title.size=40`) against that shape.

Pure: no database, no storage (the stored overrides are `template_store`'s).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from wxdist.core.errors import ApiError

KINDS = ("invite", "product")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


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
    coupon: TextStyle = TextStyle(0, 0, 0, 30, "#e4393c")  # a distributor coupon's line
    nickname_text: str = "{nickname}"
    slogan_text: str = "好物分享，边买边赚"
    hint_text: str = "长按识别小程序码"
    coupon_amount_text: str = "领券立减{amount}"
    coupon_rate_text: str = "领券享{rate}折"
    coupon_threshold_text: str = "（满{threshold}可用）"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@functools.lru_cache(maxsize=64)
def template_digest(template: PosterTemplate) -> str:
    """A digest of everything in the template (part of a poster's content key)."""
    text = json.dumps(template.to_dict(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


DEFAULTS: dict[str, PosterTemplate] = {
    "product": PosterTemplate(
        kind="product",
        image=Box(0, 0, 750, 750),
        title=TextStyle(40, 786, 420, 34, "#222222", lines=2),
        price=TextStyle(40, 900, 420, 52, "#e4393c"),
        coupon=TextStyle(40, 972, 430, 28, "#e4393c", lines=2),
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
        coupon=TextStyle(375, 480, 640, 34, "#ffe08a", lines=2, align="center"),
        hint=TextStyle(375, 1110, 600, 26, "#999999", align="center"),
    ),
}


def kind_for(product_id: int | None) -> str:
    """The template kind of a poster: a product's, or the invite poster without one."""
    return "product" if product_id is not None else "invite"


def parse_overrides(raw: str | None) -> dict[str, Any]:
    """A stored overrides text as a dict; {} when it is not a JSON object."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _unknown_key(key: str) -> ApiError:
    return ApiError(_("unknown template key"), fields={key: _("no such key")})


def apply_changes(template: PosterTemplate, changes: dict[str, Any]) -> PosterTemplate:
    """`template` with dotted changes (`title.size`, `background`) applied and checked.
    Raises ApiError naming the key."""
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in changes.items():
        name, _sep, sub = key.partition(".")
        current = getattr(template, name, None)
        if name == "kind" or current is None:
            raise _unknown_key(key)
        if sub:
            if not dataclasses.is_dataclass(current) or sub not in {
                f.name for f in dataclasses.fields(current)
            }:
                raise _unknown_key(key)
            nested.setdefault(name, {})[sub] = _coerce(key, getattr(current, sub), value)
        else:
            if dataclasses.is_dataclass(current):
                raise ApiError(
                    _("set one part at a time"), fields={key: _("e.g. %(key)s.x", key=key)}
                )
            top[name] = _coerce(key, current, value)
    for name, parts in nested.items():
        top[name] = dataclasses.replace(getattr(template, name), **parts)
    result = dataclasses.replace(template, **top)
    if not (200 <= result.width <= 2000 and 200 <= result.height <= 4000):
        raise ApiError(
            _("invalid template size"), fields={"width": _("200..2000, height 200..4000")}
        )
    return result


def _coerce(key: str, current: Any, value: Any) -> Any:
    """`value` as the type of the field it replaces. Raises ApiError naming the key."""
    if isinstance(current, bool):
        raise ApiError(_("not settable"), fields={key: _("not settable")})
    if isinstance(current, int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ApiError(_("not an integer"), fields={key: _("an integer")}) from None
        if not -4000 <= number <= 4000:
            raise ApiError(_("out of range"), fields={key: _("-4000..4000")})
        return number
    text = str(value)
    if key.endswith(("color", "background")) and not _COLOR_RE.match(text):
        raise ApiError(_("not a colour"), fields={key: _("#rrggbb")})
    if key.endswith(".align") and text not in ("left", "center", "right"):
        raise ApiError(_("bad alignment"), fields={key: _("left, center or right")})
    if len(text) > 200:
        raise ApiError(_("too long"), fields={key: _("at most %(count)s characters", count=200)})
    return text
