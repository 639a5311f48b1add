"""Attribution: which agents and channels earned the conversions, and what coordination cost.

Pure and I/O-free: records in, result objects out. The flow is

    journeys = build_journeys(touches, events)          # streams, one customer at a time
    result = attribute(journeys, model="markov", by="agent")
    quality = coordination_quality(journeys)
    budget = budget_report(touches, journeys); plan = recommend_allocation(budget, 10_000)
    html = render_html([result, quality, budget, plan])

Against a running fleet, ``from_accord(service)`` streams the journeys out of an ``Accord``
store, and ``attribution_report(service, ...)`` is the whole report as JSON (what the CLI and
``GET /v1/attribution`` serve).

See docs/attribution.md for the models, their formulas and the tolerances the tests hold
them to.
"""

from ._attribute import MODELS, attribute
from ._batch import JourneyBatch
from ._bench import bench_attribution
from ._budget import Allocation, BudgetReport, BudgetRow, budget_report, recommend_allocation
from ._journey import (
    Conversion,
    CustomerEvent,
    Journey,
    TouchRecord,
    build_journeys,
    sort_records,
)
from ._quality import QualityReport, QualityRow, Rate, coordination_quality, wilson_interval
from ._report import render_html, render_table, render_text, to_csv, to_json_ready
from ._response import ResponseFit
from ._result import AttributionResult
from ._store import ReadStats, StoreReport, attribution_report, build_report, from_accord

__all__ = [
    "MODELS",
    "Allocation",
    "AttributionResult",
    "BudgetReport",
    "BudgetRow",
    "Conversion",
    "CustomerEvent",
    "Journey",
    "JourneyBatch",
    "QualityReport",
    "QualityRow",
    "Rate",
    "ReadStats",
    "ResponseFit",
    "StoreReport",
    "TouchRecord",
    "attribute",
    "attribution_report",
    "bench_attribution",
    "budget_report",
    "build_journeys",
    "build_report",
    "coordination_quality",
    "from_accord",
    "recommend_allocation",
    "render_html",
    "render_table",
    "render_text",
    "sort_records",
    "to_csv",
    "to_json_ready",
    "wilson_interval",
]
