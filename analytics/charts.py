"""Server-rendered SVG charts (no script, no internet): a line chart of daily series and a
horizontal bar chart. Each returns markup that is safe to put in a template; the numbers go
beside it in a table (the template's job)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777"]
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 28, 12, 44


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def line_chart(chart_id: str, title: str, days: list[date],
               series: list[tuple[str, list[Decimal | int]]]) -> SafeString:
    """One polyline per series over ``days`` (x), sharing one y axis from 0."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((float(v) for _, values in series for v in values), default=0))
    step = plot_w / max(len(days) - 1, 1)
    parts = [f'<svg id="{escape(chart_id)}" class="of-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-labelledby="{escape(chart_id)}-title" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-title">{escape(title)} (numbers in the table '
             f'below)</title>']
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e5e7eb"/><text x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end" font-size="11" fill="#6b7280">'
                     f'{_label(top * i / 4)}</text>')
    every = max(1, len(days) // 8)
    for i, day in enumerate(days):
        if i % every == 0:
            parts.append(f'<text x="{LEFT + i * step:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle" font-size="11" fill="#6b7280">'
                         f'{day.strftime("%b %d")}</text>')
    for index, (name, values) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{LEFT + i * step:.1f},{TOP + plot_h - plot_h * float(v) / top:.1f}"
                          for i, v in enumerate(values))
        parts.append(f'<polyline class="of-series" data-series="{escape(name)}" fill="none" '
                     f'stroke="{color}" stroke-width="2" points="{points}"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{LEFT + i * step:.1f}" '
                         f'cy="{TOP + plot_h - plot_h * float(v) / top:.1f}" r="2.5" '
                         f'fill="{color}"><title>{escape(name)} {days[i]}: {v}</title></circle>')
        legend_x = LEFT + index * 160
        parts.append(f'<rect x="{legend_x}" y="{HEIGHT - 18}" width="10" height="10" '
                     f'fill="{color}"/><text x="{legend_x + 14}" y="{HEIGHT - 9}" '
                     f'font-size="11" fill="#374151">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)


def bar_chart(chart_id: str, title: str, bars: list[tuple[str, Decimal | int]]) -> SafeString:
    """Horizontal bars, one per ``(label, value)``."""
    row_h, label_w = 30, 130
    height = TOP + row_h * len(bars) + 8
    top = _nice_max(max((float(v) for _, v in bars), default=0))
    plot_w = WIDTH - label_w - 60
    parts = [f'<svg id="{escape(chart_id)}" class="of-chart" viewBox="0 0 {WIDTH} {height}" '
             f'role="img" aria-labelledby="{escape(chart_id)}-title" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-title">{escape(title)} (numbers in the table '
             f'below)</title>']
    for i, (label, value) in enumerate(bars):
        y = TOP + i * row_h
        width = plot_w * float(value) / top
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="12" '
                     f'fill="#374151">{escape(label)}</text>'
                     f'<rect class="of-bar" x="{label_w}" y="{y + 4}" width="{width:.1f}" '
                     f'height="18" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{label_w + width + 6:.1f}" y="{y + 17}" font-size="12" '
                     f'fill="#111827">{value}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)
