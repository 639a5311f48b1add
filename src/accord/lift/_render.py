"""The lift report for people: a terminal table and a self-contained HTML page (autoescaped
Jinja2, inline CSS, nothing fetched)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ._report import LiftReport, Metric
from ._stats import Interval

_ENV = Environment(loader=PackageLoader("accord.lift", "templates"),
                   autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
HEADER = ("metric", "treated", "holdout", "treated − holdout (95 % CI)", "verdict")


def _fmt(x: float, share: bool) -> str:
    return f"{x * 100:.2f} %" if share else f"{x:,.2f}"


def _cell(i: Interval | None, share: bool) -> str:
    if i is None:
        return "–"
    return f"{_fmt(i.estimate, share)} [{_fmt(i.low, share)}, {_fmt(i.high, share)}]"


def rows(report: LiftReport) -> list[tuple[str, str, str, str, str]]:
    def row(m: Metric) -> tuple[str, str, str, str, str]:
        share = m.spec.kind == "share"
        return (m.spec.label, _cell(m.treated, share), _cell(m.holdout, share),
                _cell(m.difference, share), m.verdict)

    return [row(m) for m in report.metrics]


def render_text(report: LiftReport) -> str:
    d = report.to_dict()
    lines = [f"Lift {d['since']} to {d['until']} — holdout {report.share:.4g} of customers "
             f"(salt {report.salt!r})",
             f"customers: {report.treated} treated, {report.holdout} holdout"]
    if report.note:
        lines.append(report.note)
    table = [HEADER, *rows(report)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    for r in table:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def render_html(report: LiftReport, title: str = "Accord lift report") -> str:
    return _ENV.get_template("lift.html").render(title=title, report=report.to_dict(),
                                                 rows=rows(report))
