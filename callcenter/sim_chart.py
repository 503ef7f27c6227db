"""Self-contained HTML reports with inline SVG line charts (no JavaScript, no files).

:func:`line_chart` draws time series (x: UTC seconds, labelled in local time) as
an SVG element; :func:`html_page` puts tables and charts on one page. Used by
``callcenter simulate --out`` and ``callcenter whatif --out``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["Series", "html_page", "line_chart", "nice_ticks"]

#: Colour-blind friendly palette (Okabe-Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#F0E442")
DASHES = ("", "6 4", "2 3", "10 3 2 3")


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a label and (x, y) points in x order; ``dash`` picks a line style."""

    label: str
    points: Sequence[tuple[float, float]]
    dash: int = 0


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def _time_ticks(low: float, high: float, tz: ZoneInfo) -> list[tuple[float, str]]:
    span = max(1.0, high - low)
    step = next((s for s in (900, 1800, 3600, 7200, 10800, 21600) if span / s <= 12), 43200)
    # Ticks on local wall-clock multiples of the step.
    origin = datetime.fromtimestamp(low, tz)
    midnight = origin.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    t = midnight + math.ceil((low - midnight) / step) * step
    ticks = []
    while t <= high + 1e-6:
        ticks.append((t, datetime.fromtimestamp(t, tz).strftime("%H:%M")))
        t += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:g}"


def line_chart(series: Sequence[Series], *, title: str, time_zone: str, y_min: float | None = None,
               y_max: float | None = None, y_unit: str = "", width: int = 900,
               height: int = 320) -> str:
    """An SVG line chart of ``series`` over local time of day, with axes and legend."""
    tz = ZoneInfo(time_zone)
    left, right, top, bottom = 56, 16, 34, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points if math.isfinite(y)]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">',
           f'<text x="{left}" y="20" font-size="14" font-weight="600">{html.escape(title)}</text>']
    if not xs or not ys:
        out.append(f'<text x="{left}" y="{top + plot_h / 2}" font-size="12">no data</text></svg>')
        return "".join(out)
    x0, x1 = min(xs), max(xs)
    if x1 <= x0:
        x1 = x0 + 1.0
    lo = min(ys) if y_min is None else y_min
    hi = max(ys) if y_max is None else y_max
    ticks = nice_ticks(lo, hi if hi > lo else lo + 1.0)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    if hi <= lo:
        hi = lo + 1.0

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - lo) / (hi - lo) * plot_h

    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
               'stroke="#999"/>')
    for tick in ticks:
        y = sy(tick)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
                   f"{_fmt(tick)}{html.escape(y_unit)}</text>")
    for t, label in _time_ticks(x0, x1, tz):
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" '
                   'stroke="#f0f0f0"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="11" '
                   f'text-anchor="middle">{label}</text>')
    for i, s in enumerate(series):
        points = [(sx(x), sy(y)) for x, y in s.points if math.isfinite(y)]
        if not points:
            continue
        colour = PALETTE[i % len(PALETTE)]
        dash = DASHES[s.dash % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8"{dash_attr} '
                   f'points="{path}"><title>{html.escape(s.label)}</title></polyline>')
        lx = left + (i % 4) * (plot_w / 4)
        ly = height - 22 + (i // 4) * 14
        out.append(f'<line x1="{lx:.1f}" x2="{lx + 22:.1f}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{lx + 27:.1f}" y="{ly}" font-size="11">'
                   f"{html.escape(s.label)}</text>")
    out.append("</svg>")
    return "".join(out)


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 12px 0 20px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, td.t { text-align: left; }
th { background: #f4f4f4; }
.note { color: #555; font-size: 12px; }
svg { display: block; margin: 8px 0 20px; max-width: 100%; height: auto; }
"""


def _cell(text: str) -> str:
    # Figures align right, words left.
    numeric = text[:1].isdigit() or text[:1] in "-+" or text.startswith(".")
    return f"<td>{html.escape(text)}</td>" if numeric else f'<td class="t">{html.escape(text)}</td>'


def html_page(title: str, tables: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
              charts: Sequence[str], notes: Sequence[str] = ()) -> str:
    """One self-contained HTML document: title, tables, notes, then the SVG charts."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for head, rows in tables:
        parts.append("<table><thead><tr>")
        parts.extend(f"<th>{html.escape(h)}</th>" for h in head)
        parts.append("</tr></thead><tbody>")
        for row in rows:
            parts.append("<tr>" + "".join(_cell(c) for c in row) + "</tr>")
        parts.append("</tbody></table>")
    parts.extend(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    parts.extend(charts)
    parts.append("</body></html>")
    return "\n".join(parts)
