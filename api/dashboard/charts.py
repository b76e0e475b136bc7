"""Server-rendered SVG charts for the dashboard (no JavaScript, no chart library).

Charts scale with their container (``viewBox`` plus ``width="100%"``) so they work on a phone.
Colours are SVG presentation attributes, not ``style`` attributes: the app's CSP
(``style-src 'self'``) blocks inline styles. Every chart carries ``role="img"``, an
``aria-label`` and ``<title>`` tooltips on its marks; the pages also show the numbers in tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Distinguishable on white and in greyscale print (alternating dark / light).
PALETTE = (
    "#a4161a",
    "#0b5cad",
    "#1d7a3e",
    "#d97706",
    "#6d28d9",
    "#0e7490",
    "#be185d",
    "#4d7c0f",
    "#78716c",
    "#1e3a8a",
)
WIDTH = 720
FONT = 12


def color(i: int) -> str:
    """The i-th series colour."""
    return PALETTE[i % len(PALETTE)]


@dataclass(frozen=True)
class Series:
    """One named series of values, aligned with the chart's categories."""

    label: str
    values: Sequence[int | float]
    color: str = ""


def nice_max(value: float, ticks: int = 4) -> tuple[float, float]:
    """An axis maximum ≥ ``value`` and its tick step, both round numbers (1, 2, 2.5, 5 × 10^n).

    The charts count cases, so the step is never below 1 once there is anything to count.
    """
    if value <= 0:
        return 1.0, 1.0
    raw = value / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if value >= 1 and step < 1:
        step = 1.0
    return step * math.ceil(value / step), step


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _fmt_tick(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else _num(v)


def _label_every(n: int, room: float, chars: int) -> int:
    """Show every k-th category label so that labels of ``chars`` characters do not overlap."""
    need = chars * FONT * 0.62 + 6
    return max(1, math.ceil(need / room)) if n else 1


def _open(height: int, label: str, css: str) -> list[str]:
    return [
        f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT}" '
        f'font-family="sans-serif">',
        f"<title>{escape(label)}</title>",
    ]


def _axes(
    parts: list[str], left: float, top: float, plot_w: float, plot_h: float, ymax: float, step: float
) -> None:
    """Horizontal grid lines with y tick labels, and the x axis."""
    v = 0.0
    while v <= ymax + 1e-9:
        y = top + plot_h - plot_h * v / ymax
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
            f'stroke="#e4e7eb" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="#5f6b7a">{_fmt_tick(v)}</text>'
        )
        v += step
    parts.append(
        f'<line x1="{left:.1f}" y1="{top + plot_h:.1f}" x2="{left + plot_w:.1f}" y2="{top + plot_h:.1f}" '
        f'stroke="#8a94a3" stroke-width="1"/>'
    )


def _x_labels(
    parts: list[str], categories: Sequence[str], xs: Sequence[float], y: float, room: float
) -> None:
    longest = max((len(c) for c in categories), default=0)
    every = _label_every(len(categories), room, longest)
    last = len(categories) - 1
    for i, (cat, x) in enumerate(zip(categories, xs, strict=True)):
        # Always label the last (newest) period; skip the one before it if they would collide.
        if i % every and i != last:
            continue
        if i != last and every > 1 and last - i < every:
            continue
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="#5f6b7a">{escape(cat)}</text>'
        )


def line_chart(
    categories: Sequence[str], series: Sequence[Series], *, label: str, height: int = 260
) -> Markup:
    """A line chart: one polyline (``<path>``) per series, a dot per value with a tooltip."""
    left, right, top, bottom = 44.0, 14.0, 14.0, 30.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = max((max(s.values, default=0) for s in series), default=0)
    ymax, step = nice_max(float(peak))
    n = len(categories)
    xs = [left + (plot_w * (i + 0.5) / n if n else 0) for i in range(n)]
    parts = _open(height, label, "chart-line")
    _axes(parts, left, top, plot_w, plot_h, ymax, step)
    for k, s in enumerate(series):
        col = s.color or color(k)
        pts = [(x, top + plot_h - plot_h * float(v) / ymax) for x, v in zip(xs, s.values, strict=True)]
        if not pts:
            continue
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(
            f'<path class="series" d="{d}" fill="none" stroke="{col}" stroke-width="2.2" '
            f'stroke-linejoin="round" stroke-linecap="round"><title>{escape(s.label)}</title></path>'
        )
        for (x, y), cat, v in zip(pts, categories, s.values, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{col}">'
                f"<title>{escape(s.label)} · {escape(cat)}：{_fmt_tick(float(v))} 件</title></circle>"
            )
    _x_labels(parts, categories, xs, height - 10, plot_w / max(n, 1))
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar_chart(
    categories: Sequence[str], series: Sequence[Series], *, label: str, height: int = 260
) -> Markup:
    """Vertical bars per category, stacked by series (``<rect>`` per non-zero segment)."""
    left, right, top, bottom = 44.0, 14.0, 14.0, 30.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    n = len(categories)
    totals = [sum(float(s.values[i]) for s in series) for i in range(n)]
    ymax, step = nice_max(max(totals, default=0.0))
    slot = plot_w / max(n, 1)
    bar_w = max(min(slot * 0.7, 56.0), 2.0)
    xs = [left + slot * (i + 0.5) for i in range(n)]
    parts = _open(height, label, "chart-bars")
    _axes(parts, left, top, plot_w, plot_h, ymax, step)
    for i, cat in enumerate(categories):
        base = top + plot_h
        for k, s in enumerate(series):
            v = float(s.values[i])
            if v <= 0:
                continue
            h = plot_h * v / ymax
            base -= h
            parts.append(
                f'<rect x="{xs[i] - bar_w / 2:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{s.color or color(k)}"><title>{escape(cat)} · {escape(s.label)}：'
                f"{_fmt_tick(v)} 件</title></rect>"
            )
        if totals[i] > 0 and bar_w >= 14:
            parts.append(
                f'<text x="{xs[i]:.1f}" y="{base - 4:.1f}" text-anchor="middle" fill="#1d232b">'
                f"{_fmt_tick(totals[i])}</text>"
            )
    _x_labels(parts, categories, xs, height - 10, slot)
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(
    items: Sequence[tuple[str, float]], *, label: str, unit: str = "件", colors: Sequence[str] | None = None
) -> Markup:
    """Horizontal bars, one row per (label, value), the value written after the bar."""
    row_h, top = 26.0, 6.0
    height = int(top * 2 + row_h * max(len(items), 1))
    label_w = min(max((len(name) for name, _ in items), default=4) * FONT + 8, 230)
    left, right = float(label_w), 56.0
    plot_w = WIDTH - left - right
    peak = max((v for _, v in items), default=0.0)
    xmax = peak if peak > 0 else 1.0
    parts = _open(height, label, "chart-hbars")
    for i, (name, v) in enumerate(items):
        y = top + row_h * i
        w = plot_w * float(v) / xmax
        col = colors[i % len(colors)] if colors else color(0)
        short = name if len(name) * FONT <= label_w - 8 else name[: int((label_w - 8) // FONT) - 1] + "…"
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="#1d232b">'
            f"{escape(short)}</text>"
        )
        parts.append(
            f'<rect x="{left:.1f}" y="{y + 4:.1f}" width="{max(w, 1.0):.1f}" height="{row_h - 8:.1f}" '
            f'fill="{col}" rx="2"><title>{escape(name)}：{_fmt_tick(float(v))} {escape(unit)}</title></rect>'
        )
        parts.append(
            f'<text x="{left + max(w, 1.0) + 6:.1f}" y="{y + row_h / 2 + 4:.1f}" fill="#1d232b">'
            f"{_fmt_tick(float(v))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def swatch(col: str) -> Markup:
    """A small colour square for an HTML legend (an inline SVG: no style attribute needed)."""
    return Markup(
        f'<svg class="swatch" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">'
        f'<rect width="12" height="12" rx="2" fill="{escape(col)}"/></svg>'
    )
