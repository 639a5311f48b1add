"""Render results for people (terminal, HTML) and programs (JSON-ready dicts, CSV).

The HTML page is self-contained — inline CSS and SVG bar charts — so it can be mailed or
archived and still open offline; nothing is fetched from anywhere. Its markup is the autoescaped
Jinja2 template ``templates/report.html``; the charts' geometry is computed here.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from rich.console import Console
from rich.table import Table

from accord._charts import Chart, bar_chart

from ._budget import Allocation, BudgetReport, BudgetRow
from ._quality import METRICS, QualityReport
from ._result import AttributionResult

Report = AttributionResult | QualityReport | BudgetReport | Allocation


def to_json_ready(result: Report) -> dict[str, Any]:
    """A dict of plain str/float/int/list values (NaN becomes None, which JSON can carry)."""
    data: dict[str, Any] = _clean(result.to_dict())
    return data


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(x: float, pct: bool = False) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x:.1%}" if pct else f"{x:,.2f}"


def _rows(result: Report) -> tuple[list[str], list[list[str]]]:
    """Header and string rows shared by the terminal table and CSV."""
    if isinstance(result, AttributionResult):
        share = result.share()
        return [result.by, "credit", "share"], [
            [k, f"{v:.4f}", f"{share[k]:.6f}"] for k, v in result.credit.items()
        ]
    if isinstance(result, QualityReport):
        head = ["group", "journeys"]
        for m in METRICS:
            head += [f"{m}_count", f"{m}_rate", f"{m}_low", f"{m}_high"]
        rows = []
        for r in result.rows:
            row = [r.group, str(r.journeys)]
            for m in METRICS:
                x = r.rates[m]
                row += [str(x.count), f"{x.rate:.6f}", f"{x.low:.6f}", f"{x.high:.6f}"]
            rows.append(row)
        return head, rows
    if isinstance(result, BudgetReport):
        head = [result.by, "spend", "revenue", "roi", "marginal_roi", "mroi_low", "mroi_high"]
        head += ["b", "b_low", "b_high", "confidence"]
        return head, [
            [r.key, *(f"{x:.4f}" for x in _budget_numbers(r)), r.fit.confidence]
            for r in result.rows
        ]
    head, nan = ["key", "spend", "low", "high", "baseline"], float("nan")
    return head, [
        [k, *(f"{x:.2f}" for x in (v, result.low[k], result.high[k], result.baseline.get(k, nan)))]
        for k, v in result.spend.items()
    ]


def _budget_numbers(r: BudgetRow) -> tuple[float, ...]:
    fit = r.fit
    money = (r.spend, r.revenue, r.roi, r.marginal_roi, r.marginal_roi_low, r.marginal_roi_high)
    return (*money, fit.b, fit.b_low, fit.b_high)


def _title(result: Report) -> str:
    if isinstance(result, AttributionResult):
        return (
            f"{result.model} attribution by {result.by} — {result.journeys:,} journeys, "
            f"{result.conversions:,} conversions, value {result.total_value:,.2f}"
        )
    if isinstance(result, QualityReport):
        return "Coordination quality (rates with 95% Wilson intervals)"
    if isinstance(result, BudgetReport):
        return f"Budget by {result.by} ({result.model} revenue, {result.periods} periods)"
    return f"Recommended allocation of {result.budget:,.2f} per period ({result.confidence})"


def render_table(result: Report) -> Table:
    """A ``rich`` table; print it with ``rich.console.Console().print``."""
    head, rows = _rows(result)
    table = Table(title=_title(result))
    for i, h in enumerate(head):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(("–" if c == "nan" else c) for c in row))
    return table


def render_text(result: Report, width: int = 200) -> str:
    """The terminal table as plain text (for logs and tests)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(render_table(result))
    for w in getattr(result, "warnings", ()):
        console.print(f"warning: {w}")
    return console.export_text()


def to_csv(result: Report) -> str:
    """CSV text with a header row; numbers unformatted beyond fixed decimals."""
    head, rows = _rows(result)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    return out.getvalue()


def _bars(
    items: Sequence[tuple[str, float, float, float]], pct: bool, heading: str | None = None
) -> Chart:
    """One bar per (label, value, low, high); an interval line where low and high are finite."""
    return bar_chart(items, title=heading, fmt=lambda v: _fmt(v, pct), label_chars=28,
                     label_w=170, bar_w=420, row_h=22, top=5, right=110, bottom=5)


def _charts(result: Report) -> list[Chart]:
    nan = float("nan")
    if isinstance(result, AttributionResult):
        return [_bars([(k, v, nan, nan) for k, v in result.credit.items()], False)]
    if isinstance(result, QualityReport):
        return [
            _bars(
                [(r.group, r.rates[m].rate, r.rates[m].low, r.rates[m].high) for r in result.rows],
                True,
                heading=f"{m} rate",
            )
            for m in METRICS
        ]
    if isinstance(result, BudgetReport):
        return [_bars([(r.key, r.roi, nan, nan) for r in result.rows], True)]
    return [_bars([(k, v, result.low[k], result.high[k]) for k, v in result.spend.items()], False)]


_ENV = Environment(
    loader=PackageLoader("accord.attribution", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

Rows = Sequence[Sequence[str]]


def render_html(
    results: Sequence[Report],
    title: str = "Accord attribution report",
    extra: Sequence[tuple[str, Sequence[str], Rows]] = (),
) -> str:
    """One self-contained HTML page (inline CSS and SVG, no scripts) for all ``results``, then
    any ``extra`` sections, each a heading, a table header and its rows."""
    sections = [
        {
            "title": _title(result),
            "charts": _charts(result),
            "table": _rows(result),
            "warnings": list(getattr(result, "warnings", ())),
        }
        for result in results
    ]
    return _ENV.get_template("report.html").render(title=title, sections=sections, extra=extra)
