"""A server-drawn SVG bar chart: no JavaScript, prints and screenshots as it shows."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 1000, 240, 64, 22, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    show_label: bool


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value in fen)
    baseline: float


def bar_chart(points: list[tuple[str, int]]) -> BarChart:
    """Bars for (label, fen) points, scaled to the largest; negatives are drawn as 0."""
    plot_w = WIDTH - PAD_LEFT
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    top = nice_ceiling(max([value for _, value in points] + [0]))
    slot = plot_w / max(len(points), 1)
    every = max(1, len(points) // 10)
    bars = []
    for index, (label, value) in enumerate(points):
        height = plot_h * max(value, 0) / top
        bars.append(
            Bar(
                x=PAD_LEFT + index * slot + slot * 0.15,
                y=PAD_TOP + plot_h - height,
                width=slot * 0.7,
                height=height,
                label=label,
                value=value,
                show_label=index % every == 0 or index == len(points) - 1,
            )
        )
    ticks = [(PAD_TOP + plot_h * (1 - part / 4), top * part // 4) for part in range(5)]
    return BarChart(WIDTH, HEIGHT, bars, ticks, PAD_TOP + plot_h)


def nice_ceiling(fen: int) -> int:
    """The axis top: 4 ticks of 1, 2 or 5 x 10^n yuan, reaching at least `fen`
    (at least ¥4, so an empty chart still has whole-yuan ticks)."""
    magnitude = 100  # fen: ticks are whole yuan
    while True:
        for factor in (1, 2, 5):
            if magnitude * factor * 4 >= fen:
                return magnitude * factor * 4
        magnitude *= 10
