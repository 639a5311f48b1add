"""The dashboard's HTML comes from Jinja2 templates in ``accord/web/templates`` (package data),
with autoescaping on: every value a page shows is escaped unless a template says otherwise, and
none does. Nothing is fetched from elsewhere: the stylesheet is inlined by the base layout, the
charts are inline SVG whose geometry ``bar_chart`` computes here and the templates draw.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

NAV = (("fleet", "Fleet"), ("decisions", "Live decisions"), ("approvals", "Approvals"),
       ("reports", "Reports"))


def _blank_none(value: Any) -> Any:
    """``{{ x }}`` shows nothing for a missing value rather than the word None."""
    return "" if value is None else value


def _clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _without_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def _json(value: Any) -> str:
    """A value as the ledger stores it, sorted, for people to read (escaped like any text)."""
    return json.dumps(value, sort_keys=True, default=str)


ENV = Environment(loader=PackageLoader("accord.web", "templates"),
                  autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                  finalize=_blank_none, trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(clock=_clock, iso=_iso, json=_json, without_none=_without_none)
ENV.globals.update(nav=NAV)


def render(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


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


@dataclass(frozen=True, slots=True)
class Chart:
    """A horizontal bar chart's geometry: one labelled bar per item, scaled to the largest."""

    bars: list[Bar]
    label_w: int = 230
    bar_w: int = 380
    row_h: int = 26

    @property
    def width(self) -> int:
        return self.label_w + self.bar_w + 70

    @property
    def height(self) -> int:
        return self.row_h * len(self.bars) + 8


def bar_chart(items: Sequence[tuple[str, float]], unit: str = "") -> Chart:
    chart = Chart([])
    top = max((v for _, v in items), default=0.0) or 1.0
    for i, (label, value) in enumerate(items):
        width = max(2.0, chart.bar_w * max(value, 0.0) / top)
        shown = f"{value:g}{unit}" if isinstance(value, int) or float(value).is_integer() \
            else f"{value:.3g}{unit}"
        chart.bars.append(Bar(label, shown, 4 + i * chart.row_h, round(width, 1),
                              round(chart.label_w + width + 6, 1)))
    return chart
