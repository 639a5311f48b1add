"""Horizontal bar chart geometry, shared by every page that draws one as inline SVG.

The dashboard's reports page, the attribution report and the fleet audit each show a list of
labelled bars scaled to the largest value; they differ only in spacing, label length and how a
value is printed. The numbers live here once, each page passes its own spacing, and its
template draws the rectangles. (The simulation report's grouped bars, one bar per arm under a
row label, are a different chart and keep their own geometry in ``accord.simulate._svg``.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

GAP = 6
"""Pixels between a bar's end and its printed value."""


def shown(value: float) -> str:
    """A whole number as is, anything else to three significant digits."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.3g}"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    shown: str
    """The value as the chart prints it."""
    y: int
    """Top of the bar's row."""
    width: float
    value_x: float
    """Where the printed value starts, just past the bar's end."""
    error: tuple[float, float] | None = None
    """x of an interval's ends (low, high), when the item has one."""


@dataclass(frozen=True, slots=True)
class Chart:
    """One labelled bar per item; labels right-aligned in a column ``label_w`` wide, bars
    after it up to ``bar_w`` long, rows ``row_h`` apart starting ``top`` down."""

    title: str | None
    bars: list[Bar]
    label_w: int
    bar_w: int
    row_h: int
    top: int
    right: int
    """Room past the longest bar for its printed value."""
    bottom: int

    @property
    def width(self) -> int:
        return self.label_w + self.bar_w + self.right

    @property
    def height(self) -> int:
        return self.top + self.row_h * len(self.bars) + self.bottom


Item = tuple[str, float] | tuple[str, float, float, float]
"""(label, value), or (label, value, low, high) for a bar with an interval."""


def bar_chart(
    items: Sequence[Item],
    *,
    title: str | None = None,
    fmt: Callable[[float], str] = shown,
    label_chars: int | None = None,
    label_w: int = 230,
    bar_w: int = 380,
    row_h: int = 26,
    top: int = 4,
    right: int = 70,
    bottom: int = 4,
    min_width: float = 0.0,
) -> Chart:
    """Bars scaled so the largest finite magnitude among values and interval ends fills
    ``bar_w``; a negative or missing (NaN) value draws ``min_width``, its interval is clipped
    at zero, and the printed value still says what it is."""
    finite = [abs(x) for item in items for x in item[1:] if math.isfinite(x)]
    scale = max(finite, default=1.0) or 1.0
    bars = []
    for i, item in enumerate(items):
        label, value = item[0], item[1]
        w = bar_w * max(value, 0.0) / scale if math.isfinite(value) else 0.0
        w = max(min_width, w)
        error = None
        if len(item) == 4 and math.isfinite(item[2]) and math.isfinite(item[3]):
            error = (round(label_w + bar_w * max(item[2], 0.0) / scale, 1),
                     round(label_w + bar_w * max(item[3], 0.0) / scale, 1))
        bars.append(Bar(label[:label_chars], fmt(value), top + i * row_h, round(w, 1),
                        round(label_w + w + GAP, 1), error))
    return Chart(title, bars, label_w, bar_w, row_h, top, right, bottom)
