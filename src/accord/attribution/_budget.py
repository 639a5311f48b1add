"""Spend vs attributed revenue per agent or channel, and budget reallocation advice.

Spend is the sum of ``TouchRecord.cost`` (whatever the touch's status: a stopped touch may
still have cost inference). Revenue is the credit of an attribution model, computed period by
period (the period of a journey is that of its conversion), so each key gets a series of
(spend, revenue) points to fit the response model of :mod:`._response` on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._attribute import attribute
from ._journey import DAY, Journey, TouchRecord
from ._response import B_CLIP, ResponseFit, allocate, fit_response, predicted

RANK = {"insufficient": 0, "low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True, slots=True)
class BudgetRow:
    key: str
    spend: float
    revenue: float
    roi: float  # (revenue - spend) / spend
    marginal_roi: float  # dR/ds - 1 at the mean period spend, from the fit
    marginal_roi_low: float
    marginal_roi_high: float
    mean_period_spend: float
    fit: ResponseFit


@dataclass(frozen=True, slots=True)
class BudgetReport:
    by: str
    model: str
    period_s: float
    periods: int
    rows: tuple[BudgetRow, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "budget",
            "by": self.by,
            "model": self.model,
            "period_s": self.period_s,
            "periods": self.periods,
            "rows": [
                {
                    "key": r.key,
                    "spend": r.spend,
                    "revenue": r.revenue,
                    "roi": r.roi,
                    "marginal_roi": r.marginal_roi,
                    "marginal_roi_interval": [r.marginal_roi_low, r.marginal_roi_high],
                    "mean_period_spend": r.mean_period_spend,
                    "fit": r.fit.to_dict(),
                }
                for r in self.rows
            ],
            "warnings": list(self.warnings),
        }


def budget_report(
    touches: Iterable[TouchRecord],
    journeys: Iterable[Journey],
    by: str = "agent",
    model: str = "linear",
    period_s: float = 7 * DAY,
    n_boot: int = 1000,
    seed: int = 0,
    min_periods: int = 6,
    **params: Any,
) -> BudgetReport:
    """ROI, marginal ROI and a fitted response curve per key.

    Holds the journeys of one period at a time in memory per period seen (grouped by
    conversion period); pass a time-sliced history for very long ones.
    """
    if by not in ("agent", "channel"):
        raise ValueError("budget is reported by 'agent' or 'channel'")
    spend: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for t in touches:
        spend[t.agent if by == "agent" else t.channel][int(t.at // period_s)] += t.cost
    per_period: dict[int, list[Journey]] = defaultdict(list)
    for j in journeys:
        per_period[int(j.end // period_s)].append(j)
    revenue: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for p, group in per_period.items():
        for key, credit in attribute(group, model, by, **params).credit.items():
            revenue[key][p] += credit
    all_periods = {p for d in (*spend.values(), *revenue.values()) for p in d}
    if not all_periods:
        return BudgetReport(by, model, period_s, 0, (), ("no touches or journeys",))
    span = np.arange(min(all_periods), max(all_periods) + 1)
    rows = []
    for i, key in enumerate(sorted(set(spend) | set(revenue))):
        s = np.asarray([spend[key].get(int(p), 0.0) for p in span])
        r = np.asarray([revenue[key].get(int(p), 0.0) for p in span])
        fit = fit_response(key, s, r, n_boot=n_boot, seed=seed + i, min_periods=min_periods)
        total_s, total_r = float(s.sum()), float(r.sum())
        mean_s = float(s[s > 0].mean()) if (s > 0).any() else 0.0
        if fit.identifiable and mean_s > 0:
            m = float(fit.marginal(mean_s)) - 1.0
            draws = fit.boot_a * fit.boot_b * mean_s ** (fit.boot_b - 1) - 1
            lo, hi = (float(v) for v in np.percentile(draws, [2.5, 97.5]))
        else:
            m = lo = hi = float("nan")
        roi = (total_r - total_s) / total_s if total_s > 0 else float("nan")
        rows.append(BudgetRow(key, total_s, total_r, roi, m, lo, hi, mean_s, fit))
    rows.sort(key=lambda row: -row.revenue)
    return BudgetReport(by, model, period_s, len(span), tuple(rows))


@dataclass(frozen=True, slots=True)
class Allocation:
    """Recommended spend per key for one period's budget, with 95% bootstrap intervals.

    ``baseline`` is today's per-period mix scaled to the same budget; ``uplift`` the predicted
    gain of the recommendation over it (paired over bootstrap draws).
    """

    budget: float
    spend: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    baseline: dict[str, float]
    expected_revenue: float
    uplift: float
    uplift_low: float
    uplift_high: float
    confidence: str
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "allocation",
            "budget": self.budget,
            "spend": dict(self.spend),
            "interval": {k: [self.low[k], self.high[k]] for k in self.spend},
            "baseline": dict(self.baseline),
            "expected_revenue": self.expected_revenue,
            "uplift": self.uplift,
            "uplift_interval": [self.uplift_low, self.uplift_high],
            "confidence": self.confidence,
            "warnings": list(self.warnings),
        }


def recommend_allocation(report: BudgetReport, budget: float) -> Allocation:
    """Split a per-period ``budget`` by equalising fitted marginal returns.

    Keys whose response is not identifiable keep today's mean period spend (and say so);
    the rest share what remains. ``confidence`` is the weakest fit's, lowered to ``low`` when
    the uplift interval includes zero, and ``insufficient`` when nothing could be fitted — then
    the recommendation is today's mix, not advice.
    """
    notes = list(report.warnings)
    fitted = [r for r in report.rows if r.fit.identifiable]
    held = {r.key: r.mean_period_spend for r in report.rows if not r.fit.identifiable}
    for key in held:
        notes.append(f"{key}: response not identifiable; spend held at today's level")
    remaining = budget - sum(held.values())
    current = {r.key: r.mean_period_spend for r in report.rows}
    scale = budget / sum(current.values()) if sum(current.values()) > 0 else 0.0
    baseline = {k: v * scale for k, v in current.items()}
    if not scale and current:
        notes.append("no spend recorded; the baseline splits the budget evenly")
        baseline = dict.fromkeys(current, budget / len(current))
    nan = float("nan")
    if not fitted or remaining <= 0:
        notes.append("no fitted response to allocate with; returning today's mix")
        ident = dict(baseline)
        return Allocation(
            budget, ident, ident, ident, baseline, nan, nan, nan, nan, "insufficient", tuple(notes)
        )
    keys = [r.key for r in fitted]
    a = np.asarray([r.fit.a for r in fitted])
    b = np.asarray([r.fit.b for r in fitted])
    boot_a = np.stack([r.fit.boot_a for r in fitted], axis=1)
    raw_b = np.stack([r.fit.boot_b for r in fitted], axis=1)
    boot_b = np.clip(raw_b, *B_CLIP)
    clipped = float((raw_b != boot_b).mean())
    if clipped > 0.1:
        notes.append(f"{clipped:.0%} of bootstrap draws had b outside (0, 1) and were clipped")
    point = allocate(a, b, remaining)
    draws = allocate(boot_a, boot_b, remaining)
    base = np.asarray([baseline[k] for k in keys])
    base = (
        base * remaining / base.sum()
        if base.sum() > 0
        else np.full(len(keys), remaining / len(keys))
    )
    gains = predicted(boot_a, boot_b, point) - predicted(boot_a, boot_b, base)
    uplift = float(predicted(a, b, point) - predicted(a, b, base))
    u_lo, u_hi = (float(v) for v in np.percentile(gains, [2.5, 97.5]))
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    confidence = min((r.fit.confidence for r in fitted), key=RANK.__getitem__)
    if u_lo <= 0 or clipped > 0.1:
        confidence = "low"
        notes.append("the predicted uplift's 95% interval includes zero or rests on clipped draws")
    spend = dict(zip(keys, point.tolist(), strict=True)) | held
    return Allocation(
        budget=budget,
        spend=spend,
        low=dict(zip(keys, lo.tolist(), strict=True)) | held,
        high=dict(zip(keys, hi.tolist(), strict=True)) | held,
        baseline=baseline,
        expected_revenue=float(predicted(a, b, point)),
        uplift=uplift,
        uplift_low=u_lo,
        uplift_high=u_hi,
        confidence=confidence,
        warnings=tuple(notes),
    )
