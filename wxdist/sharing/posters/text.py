"""Text on posters: fonts from PyPI, per-character fallback, wrapping and ellipsis by
measured width.

Fonts (all installed by pip, no system font needed):

- WenQuanYi Micro Hei (`paperang-p2-fonts-cjk`, 2.3 MB wheel): Chinese (GBK and more),
  Latin, digits, ¥ and …;
- Noto Emoji, Noto Sans Symbols and Noto Sans (`manimgx-fonts`): monochrome emoji,
  symbols, and the Latin, Greek and Cyrillic letters the first lacks.

Each character is set in the first font whose character map (read with fontTools) has it.
A character no font has is left out, never drawn as a box (tofu); a zero-width joiner or
variation selector stays with the emoji it belongs to, or goes. Lines break between
characters (between words for Latin text where a space allows) at the measured width, and
a text longer than its lines ends with "…".
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageDraw, ImageFont

ELLIPSIS = "…"
_JOINERS = {0x200D, 0xFE0E, 0xFE0F}  # ZWJ and variation selectors
_coverage_lock = threading.Lock()


@dataclass(frozen=True)
class FontFile:
    name: str
    path: str
    index: int = 0
    raqm: bool = False  # shaping (emoji ZWJ sequences) needs raqm; Chinese does not


@functools.cache
def font_files() -> tuple[FontFile, ...]:
    import manimgx_fonts
    import paperang_p2_fonts_cjk

    cjk = Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"
    noto = Path(manimgx_fonts.__file__).parent
    return (
        FontFile("cjk", str(cjk), 0),
        FontFile("emoji", str(noto / "NotoEmoji[wght].ttf"), raqm=True),
        FontFile("symbols", str(noto / "NotoSansSymbols[wght].ttf")),
        FontFile("latin", str(noto / "NotoSans[wght].ttf")),
    )


@functools.cache
def _cmap(slot: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    spec = font_files()[slot]
    with _coverage_lock:
        tt = TTFont(spec.path, fontNumber=spec.index, lazy=True)
        try:
            return frozenset(tt["cmap"].getBestCmap() or {})
        finally:
            tt.close()


@functools.cache
def font(slot: int, size: int) -> ImageFont.FreeTypeFont:
    spec = font_files()[slot]
    layout = ImageFont.Layout.RAQM if spec.raqm else ImageFont.Layout.BASIC
    try:
        return ImageFont.truetype(spec.path, size, index=spec.index, layout_engine=layout)
    except (OSError, ImportError):  # no raqm in this Pillow: basic layout still draws
        return ImageFont.truetype(spec.path, size, index=spec.index)


@functools.cache
def _slot_of(codepoint: int) -> int | None:
    for slot in range(len(font_files())):
        if codepoint in _cmap(slot):
            return slot
    return None


@functools.cache
def _char_width(slot: int, size: int, char: str) -> float:
    return float(font(slot, size).getlength(char))


@dataclass(frozen=True)
class Glyph:
    char: str
    slot: int
    width: float


def glyphs(text: str, size: int) -> list[Glyph]:
    """The drawable characters of `text`, each with its font and width; uncovered ones go."""
    out: list[Glyph] = []
    for char in text:
        codepoint = ord(char)
        if char in "\r\n\t":
            char, codepoint = " ", 32
        if codepoint in _JOINERS or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            # Joiners and marks belong with the character before them, in its font.
            if out and codepoint in _cmap(out[-1].slot):
                out.append(Glyph(char, out[-1].slot, _char_width(out[-1].slot, size, char)))
            continue
        slot = _slot_of(codepoint)
        if slot is None:
            continue  # no font has it: leave it out rather than draw a box
        out.append(Glyph(char, slot, _char_width(slot, size, char)))
    return out


def clean(text: str) -> str:
    """`text` with every character no font can draw removed (what a poster will show)."""
    return "".join(g.char for g in glyphs(text, 16))


def _width(line: list[Glyph]) -> float:
    return sum(g.width for g in line)


def wrap(text: str, size: int, max_width: float, max_lines: int = 1) -> list[list[Glyph]]:
    """Break `text` into at most `max_lines` lines no wider than `max_width`; if it does
    not fit, the last line ends with an ellipsis."""
    items = glyphs(" ".join(text.split()), size)
    lines: list[list[Glyph]] = []
    line: list[Glyph] = []
    width = 0.0
    for glyph in items:
        if line and width + glyph.width > max_width:
            carry: list[Glyph] = []
            if glyph.char != " " and glyph.char.isascii() and glyph.char.isalnum():
                # Latin: move the unfinished word down if a space earlier allows it.
                spaces = [i for i, g in enumerate(line) if g.char == " "]
                if spaces and spaces[-1] > 0:
                    carry = line[spaces[-1] + 1 :]
                    line = line[: spaces[-1]]
            lines.append(line)
            line = carry
            width = _width(line)
            if glyph.char == " " and not line:
                continue  # no space at the start of a line
        line.append(glyph)
        width += glyph.width
    if line:
        lines.append(line)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = _ellipsize(kept[-1], size, max_width)
    return kept


def _ellipsize(line: list[Glyph], size: int, max_width: float) -> list[Glyph]:
    dots = glyphs(ELLIPSIS, size) or glyphs("...", size)
    room = max_width - _width(dots)
    line = list(line)
    while line and (_width(line) > room or line[-1].char == " "):
        line.pop()
    return line + dots


def fit(text: str, size: int, max_width: float) -> list[Glyph]:
    """One line: `text`, ellipsized if wider than `max_width`."""
    lines = wrap(text, size, max_width, max_lines=1)
    return lines[0] if lines else []


def line_text(line: list[Glyph]) -> str:
    return "".join(g.char for g in line)


def draw_line(
    draw: ImageDraw.ImageDraw,
    line: list[Glyph],
    x: float,
    baseline: float,
    size: int,
    fill: str | tuple[int, ...],
    align: str = "left",
) -> float:
    """Draw one line with its baseline at `baseline`; returns its width."""
    runs: list[tuple[int, str, float]] = []
    start = 0
    while start < len(line):
        slot = line[start].slot
        end = start
        while end < len(line) and line[end].slot == slot:
            end += 1
        run = "".join(g.char for g in line[start:end])
        # Measured as a whole: shaping may join characters (an emoji ZWJ sequence is one
        # glyph), so the run is never wider than the sum its wrapping assumed.
        runs.append((slot, run, float(font(slot, size).getlength(run))))
        start = end
    width = sum(w for _, _, w in runs)
    if align == "center":
        x -= width / 2
    elif align == "right":
        x -= width
    for slot, run, run_width in runs:
        draw.text((x, baseline), run, font=font(slot, size), fill=fill, anchor="ls")
        x += run_width
    return width


def draw_text(
    draw: ImageDraw.ImageDraw,
    text: str,
    *,
    x: float,
    y: float,
    size: int,
    max_width: float,
    max_lines: int = 1,
    fill: str | tuple[int, ...] = "#000000",
    align: str = "left",
    line_height: float = 1.35,
) -> int:
    """Draw `text` wrapped into a box whose top is `y`; returns the lines drawn."""
    ascent = font(0, size).getmetrics()[0]
    lines = wrap(text, size, max_width, max_lines)
    for i, line in enumerate(lines):
        draw_line(draw, line, x, y + ascent + i * size * line_height, size, fill, align)
    return len(lines)
