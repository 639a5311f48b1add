"""The lift report: treated customers against the policy holdout (docs/lift.md)."""

from accord.lift._render import render_html, render_text
from accord.lift._report import METRICS, MIN_PER_GROUP, LiftReport, Metric, compare, lift_report
from accord.lift._stats import Interval, newcombe, wilson
from accord.lift._wire import from_dict

__all__ = ["METRICS", "MIN_PER_GROUP", "Interval", "LiftReport", "Metric", "compare",
           "from_dict", "lift_report", "newcombe", "render_html", "render_text", "wilson"]
