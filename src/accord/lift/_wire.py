"""The lift report as ``GET /v1/reports/lift`` sends it, read back into a ``LiftReport``, so
``Client.lift_report`` returns what the embedded report does (and ``render_html`` takes it)."""

from __future__ import annotations

from typing import Any

from accord._time import to_epoch

from ._report import LiftReport, Metric, MetricSpec
from ._stats import Interval


def _interval(part: dict[str, Any] | None) -> Interval | None:
    if part is None:
        return None
    return Interval(float(part["estimate"]), float(part["low"]), float(part["high"]))


def from_dict(d: dict[str, Any]) -> LiftReport:
    """The inverse of ``LiftReport.to_dict()``. Each metric's spec comes from the answer
    itself, so a metric a newer server adds reads back too."""
    metrics = [Metric(MetricSpec(m["metric"], m["kind"], m["label"], m["better"]),
                      _interval(m["treated"]), _interval(m["holdout"]),
                      _interval(m["difference"]))
               for m in d["metrics"]]
    return LiftReport(to_epoch(d["since"]), to_epoch(d["until"]), float(d["holdout"]["share"]),
                      str(d["holdout"]["salt"]), int(d["customers"]["treated"]),
                      int(d["customers"]["holdout"]), metrics,
                      min_per_group=int(d["min_per_group"]))

