"""Geometry for the report's inline-SVG charts: grouped horizontal bars, daily lines, a
customer's week.

Every coordinate is computed here and rounded to a tenth of a pixel; ``templates/_charts.html``
draws the shapes. No chart library and no external asset, so the report opens offline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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


@dataclass(frozen=True, slots=True)
class Key:
    """One legend entry: a 10 px swatch at (x, y), its name to the right."""

    name: str
    color: str
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Bar:
    name: str
    color: str
    x: int
    y: int
    width: float
    height: int
    shown: str
    value_x: float
    value_y: int


@dataclass(frozen=True, slots=True)
class Group:
    """A row's label (its baseline at ``y``) above one bar per series."""

    label: str
    y: int
    bars: list[Bar]


@dataclass(frozen=True, slots=True)
class Bars:
    width: int
    height: int
    groups: list[Group]
    legend: list[Key]


def grouped_bars(
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[tuple[str, str]],
    *,
    width: int = 560,
    shared_scale: bool = False,
) -> Bars:
    """One group per row, one bar per series; each row scaled to its own maximum (arms side
    by side), or all rows to one maximum (``shared_scale``, for counts of one kind)."""
    bar_h, gap, label_w, label_h = 14, 10, 4, 16
    height = len(rows) * (bar_h * len(series) + gap + label_h) + 30
    span = width - label_w - 70
    overall = max((max(v) for _, v in rows if v), default=1.0) or 1.0
    groups, y = [], 4
    for label, values in rows:
        top = overall if shared_scale else (max(values) or 1.0)
        group = Group(label, y + 12, [])
        y += label_h
        for (name, color), v in zip(series, values, strict=True):
            w = max(1.0, span * v / top) if v else 0.0
            value_x, value_y = round(label_w + w + 4, 1), y + bar_h - 3
            bar = Bar(name, color, label_w, y, round(w, 1), bar_h - 2, _fmt(v), value_x, value_y)
            group.bars.append(bar)
            y += bar_h
        groups.append(group)
        y += gap
    legend, x = [], 0
    for name, color in series:
        legend.append(Key(name, color, x, height - 16))
        x += 16 + 7 * len(name)
    return Bars(width, height, groups, legend)


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    color: str
    points: list[tuple[float, float]]
    key: Key


@dataclass(frozen=True, slots=True)
class Lines:
    """A plot area from (left, top) to (right, bottom); y runs from 0 to ``top_value``."""

    title: str
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    top_value: str
    days: int
    series: list[Line]


def lines(
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    title: str,
    width: int = 560,
    height: int = 200,
) -> Lines:
    """Daily values per series; x is the day."""
    pad_l, pad_b, pad_t = 50, 40, 20
    days = max((len(v) for _, _, v in series), default=1)
    top = max((max(v) for _, _, v in series if v), default=1.0) or 1.0
    w, h = width - pad_l - 10, height - pad_b - pad_t

    def xy(i: int, v: float) -> tuple[float, float]:
        return round(pad_l + w * i / max(1, days - 1), 1), round(pad_t + h - h * v / top, 1)

    drawn, x = [], pad_l
    for name, color, values in series:
        points = [xy(i, v) for i, v in enumerate(values)]
        drawn.append(Line(name, color, points, Key(name, color, x, height - 14)))
        x += 20 + 7 * len(name)
    right, bottom = pad_l + w, pad_t + h
    return Lines(title, width, height, pad_l, pad_t, right, bottom, _fmt(top), days, drawn)


@dataclass(frozen=True, slots=True)
class Mark:
    """A touch that reached the customer (a dot centred at x, y), a proposal the gate held
    (a cross whose text starts at x, y) or the customer's own event (a tick from x, y down)."""

    kind: Literal["touch", "held", "event"]
    x: float
    y: int
    color: str
    tip: str


@dataclass(frozen=True, slots=True)
class Lane:
    label: str
    y: int
    marks: list[Mark]


@dataclass(frozen=True, slots=True)
class Day:
    """A day's gridline at ``x``; ``label_x`` is None for the closing line."""

    x: float
    label_x: float | None


@dataclass(frozen=True, slots=True)
class Week:
    width: int
    height: int
    days: list[Day]
    lanes: list[Lane]


def week(
    lanes: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
    start: float,
    end: float,
    agent_colors: Mapping[str, str],
    *,
    width: int = 1100,
) -> Week:
    """One lane per arm: sent touches as dots, prevented ones as crosses, events as ticks."""
    lane_h, label_w = 70, 190
    height = lane_h * len(lanes) + 30
    span = width - label_w - 20
    n_days = max(1, round((end - start) / 86400))
    days = []
    for d in range(n_days + 1):
        x = label_w + span * d / n_days
        days.append(Day(round(x, 1), round(x + 4, 1) if d < n_days else None))
    drawn = []
    for k, (label, rows) in enumerate(lanes):
        y0 = k * lane_h + 10
        lane = Lane(label, y0 + 30, [])
        for n, r in enumerate(rows):
            x = label_w + span * (float(r["at"]) - start) / (end - start)
            words = [
                str(r.get(f) or "")
                for f in ("agent", "kind", "type", "channel", "intent", "outcome")
            ]
            tip = " ".join(words) + " " + ",".join(str(x) for x in r.get("rules") or [])
            y = y0 + 12 + (n % 4) * 12
            color = agent_colors.get(str(r.get("agent")), "#333")
            if r["kind"] == "touch":
                lane.marks.append(Mark("touch", round(x, 1), y, color, tip))
            elif r["kind"] == "decision":
                lane.marks.append(Mark("held", round(x - 4, 1), y + 4, color, tip))
            else:
                lane.marks.append(Mark("event", round(x - 1, 1), y0, "#000", tip))
        drawn.append(lane)
    return Week(width, height, days, drawn)
