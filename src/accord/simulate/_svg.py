"""Tiny inline-SVG charts: grouped horizontal bars, daily lines, a customer's week.

Hand-written so the report has no dependency and no external asset: it opens offline.
"""

from __future__ import annotations

from html import escape

PALETTE = (
    "#c0392b",
    "#2471a3",
    "#7d3c98",
    "#1e8449",
    "#b9770e",
    "#566573",
    "#cb4335",
    "#17a589",
    "#a04000",
    "#2e4053",
)
ARM_COLORS = {"uncoordinated": "#c0392b", "accord": "#2471a3", "policy": "#7d3c98"}


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".") if v % 1 else f"{v:.0f}"


def grouped_bars(
    rows: list[tuple[str, list[float]]],
    series: list[tuple[str, str]],
    *,
    width: int = 560,
    shared_scale: bool = False,
) -> str:
    """One group per row, one bar per series; each row scaled to its own maximum (arms side
    by side), or all rows to one maximum (``shared_scale``, for counts of one kind)."""
    bar_h, gap, label_w, label_h = 14, 10, 4, 16
    height = len(rows) * (bar_h * len(series) + gap + label_h) + 30
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" role="img">'
    ]
    y = 4
    span = width - label_w - 70
    overall = max((max(v) for _, v in rows if v), default=1.0) or 1.0
    for label, values in rows:
        top = overall if shared_scale else (max(values) or 1.0)
        out.append(f'<text x="0" y="{y + 12}" font-size="12">{escape(label)}</text>')
        y += label_h
        for (name, color), v in zip(series, values, strict=True):
            w = max(1.0, span * v / top) if v else 0.0
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                f'fill="{color}"><title>{escape(name)}: {_fmt(v)}</title></rect>'
            )
            out.append(
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" '
                f'font-size="11">{_fmt(v)}</text>'
            )
            y += bar_h
        y += gap
    x = 0
    for name, color in series:
        out.append(
            f'<rect x="{x}" y="{height - 16}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{height - 7}" font-size="11">{escape(name)}</text>'
        )
        x += 16 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def lines(
    series: list[tuple[str, str, list[float]]], *, title: str, width: int = 560, height: int = 200
) -> str:
    """Daily values per series; x is the day."""
    pad_l, pad_b, pad_t = 50, 40, 20
    days = max((len(v) for _, _, v in series), default=1)
    top = max((max(v) for _, _, v in series if v), default=1.0) or 1.0
    w, h = width - pad_l - 10, height - pad_b - pad_t

    def xy(i: int, v: float) -> str:
        x = pad_l + (w * i / max(1, days - 1))
        return f"{x:.1f},{pad_t + h - h * v / top:.1f}"

    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" role="img"><text x="{pad_l}" y="12" font-size="12">'
        f"{escape(title)}</text>",
        f'<line x1="{pad_l}" y1="{pad_t + h}" x2="{pad_l + w}" y2="{pad_t + h}" stroke="#999"/>',
        f'<text x="4" y="{pad_t + 8}" font-size="10">{_fmt(top)}</text>',
        f'<text x="4" y="{pad_t + h}" font-size="10">0</text>',
        f'<text x="{pad_l}" y="{pad_t + h + 14}" font-size="10">day 1</text>',
        f'<text x="{pad_l + w - 30}" y="{pad_t + h + 14}" font-size="10">day {days}</text>',
    ]
    x = pad_l
    for name, color, values in series:
        pts = " ".join(xy(i, v) for i, v in enumerate(values))
        out.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        out.append(
            f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{height - 5}" font-size="11">{escape(name)}</text>'
        )
        x += 20 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def week(
    lanes: list[tuple[str, list[dict[str, object]]]],
    start: float,
    end: float,
    agent_colors: dict[str, str],
    *,
    width: int = 1100,
) -> str:
    """One lane per arm: sent touches as dots, prevented ones as crosses, events as ticks."""
    lane_h, label_w = 70, 190
    height = lane_h * len(lanes) + 30
    span = width - label_w - 20
    days = max(1, round((end - start) / 86400))
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" role="img">'
    ]
    for d in range(days + 1):
        x = label_w + span * d / days
        out.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 24}" stroke="#ddd"/>')
        if d < days:
            out.append(f'<text x="{x + 4:.1f}" y="{height - 10}" font-size="10">day {d + 1}</text>')
    for k, (label, rows) in enumerate(lanes):
        y0 = k * lane_h + 10
        out.append(
            f'<text x="0" y="{y0 + 30}" font-size="12" font-weight="bold">{escape(label)}</text>'
        )
        for n, r in enumerate(rows):
            x = label_w + span * (float(r["at"]) - start) / (end - start)  # type: ignore[arg-type]
            rules = r.get("rules") or []
            words = [
                str(r.get(f) or "")
                for f in ("agent", "kind", "type", "channel", "intent", "outcome")
            ]
            tip = escape(" ".join(words) + " " + ",".join(str(x) for x in rules))  # type: ignore[attr-defined]
            y = y0 + 12 + (n % 4) * 12
            if r["kind"] == "touch":
                c = agent_colors.get(str(r["agent"]), "#333")
                out.append(
                    f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="{c}"><title>{tip}</title></circle>'
                )
            elif r["kind"] == "decision":
                c = agent_colors.get(str(r["agent"]), "#333")
                out.append(
                    f'<text x="{x - 4:.1f}" y="{y + 4}" font-size="13" fill="{c}">×'
                    f"<title>{tip}</title></text>"
                )
            else:
                out.append(
                    f'<rect x="{x - 1:.1f}" y="{y0}" width="2" height="50" '
                    f'fill="#000"><title>{tip}</title></rect>'
                )
    out.append("</svg>")
    return "".join(out)
