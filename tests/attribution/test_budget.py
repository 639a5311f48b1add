"""Budget: ROI, the concave response fit, and allocation by equal marginal returns."""

from __future__ import annotations

import numpy as np
import pytest

from accord.attribution import (
    Conversion,
    TouchRecord,
    budget_report,
    build_journeys,
    recommend_allocation,
)
from accord.attribution._response import allocate, fit_response

WEEK = 7 * 86400.0


def test_fit_recovers_a_known_power_law_within_its_interval() -> None:
    rng = np.random.default_rng(0)
    spend = rng.uniform(50, 500, 40)
    revenue = 30 * spend**0.5 * np.exp(rng.normal(0, 0.05, 40))
    fit = fit_response("a", spend, revenue, n_boot=500)
    assert fit.b_low < 0.5 < fit.b_high
    assert fit.b == pytest.approx(0.5, abs=0.05)
    assert fit.a == pytest.approx(30, rel=0.25)
    assert fit.confidence == "high"


def test_fit_says_insufficient_when_there_are_too_few_periods() -> None:
    fit = fit_response("a", np.asarray([10.0, 20.0, 30.0]), np.asarray([5.0, 7.0, 8.0]))
    assert fit.confidence == "insufficient"
    assert "usable period" in fit.warnings[0]


def test_fit_says_insufficient_when_spend_never_varied() -> None:
    fit = fit_response("a", np.full(10, 100.0), np.linspace(50, 80, 10))
    assert not fit.identifiable and "barely varied" in fit.warnings[0]


def test_fit_flags_increasing_returns_as_not_diminishing() -> None:
    spend = np.linspace(10, 100, 12)
    fit = fit_response("a", spend, spend**1.5)
    assert fit.confidence == "insufficient" and "outside (0, 1)" in fit.warnings[0]


def test_allocation_equalises_marginal_returns_and_spends_the_budget() -> None:
    a, b = np.asarray([10.0, 20.0, 5.0]), np.asarray([0.5, 0.3, 0.8])
    spend = allocate(a, b, 1000.0)
    assert spend.sum() == pytest.approx(1000.0, rel=1e-12)
    marginal = a * b * spend ** (b - 1)
    np.testing.assert_allclose(marginal, marginal[0], rtol=1e-6)


def test_allocation_of_two_square_roots_matches_the_closed_form() -> None:
    # a_i sqrt(s_i): s_i ∝ a_i², so 1:4 split of the budget for a = 1, 2.
    spend = allocate(np.asarray([1.0, 2.0]), np.asarray([0.5, 0.5]), 500.0)
    np.testing.assert_allclose(spend, [100.0, 400.0], rtol=1e-9)


def history(weeks: int, seed: int = 0) -> tuple[list[TouchRecord], list[Conversion]]:
    """Agent 'good' earns 8·s^0.6 a week, 'meh' earns 2·s^0.6, each with varying spend."""
    rng = np.random.default_rng(seed)
    touches, conversions = [], []
    for w in range(weeks):
        for agent, scale in (("good", 8.0), ("meh", 2.0)):
            s = float(rng.uniform(20, 200))
            customer = f"{agent}-{w:03d}"
            touches.append(TouchRecord(customer, agent, "email", w * WEEK + 10, cost=s))
            value = scale * s**0.6 * float(np.exp(rng.normal(0, 0.05)))
            conversions.append(Conversion(customer, w * WEEK + 20, value))
    return touches, conversions


def test_budget_report_computes_roi_from_cost_and_attributed_revenue() -> None:
    touches, conversions = history(20)
    report = budget_report(touches, build_journeys(*sort(touches, conversions)), n_boot=200)
    good = next(r for r in report.rows if r.key == "good")
    spend = sum(t.cost for t in touches if t.agent == "good")
    revenue = sum(c.value for c in conversions if c.customer.startswith("good"))
    assert good.spend == pytest.approx(spend) and good.revenue == pytest.approx(revenue)
    assert good.roi == pytest.approx((revenue - spend) / spend)
    assert good.fit.b == pytest.approx(0.6, abs=0.1)


def sort(t: list[TouchRecord], c: list[Conversion]) -> tuple[list[TouchRecord], list[Conversion]]:
    return sorted(t, key=lambda x: x.customer), sorted(c, key=lambda x: x.customer)


def test_recommendation_moves_budget_to_the_stronger_response() -> None:
    touches, conversions = history(30)
    report = budget_report(touches, build_journeys(*sort(touches, conversions)), n_boot=300)
    plan = recommend_allocation(report, 200.0)
    # same b: s_i ∝ a_i^(1/(1-b)) = 4^2.5 = 32 → good gets 32/33 of the budget
    assert plan.spend["good"] == pytest.approx(200 * 32 / 33, rel=0.1)
    assert plan.low["good"] <= plan.spend["good"] <= plan.high["good"]
    assert plan.uplift > 0 and plan.confidence in ("medium", "high")


def test_thin_data_yields_no_recommendation_with_false_certainty() -> None:
    touches, conversions = history(3)
    report = budget_report(touches, build_journeys(*sort(touches, conversions)), n_boot=100)
    plan = recommend_allocation(report, 200.0)
    assert plan.confidence == "insufficient"
    assert any("not identifiable" in w for w in plan.warnings)
    assert sum(plan.spend.values()) == pytest.approx(200.0)
