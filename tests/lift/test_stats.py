"""The lift report's intervals against published and hand-computed answers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.lift import MIN_PER_GROUP, compare, newcombe, wilson
from accord.lift._stats import Z95, mean, welch


@pytest.mark.parametrize(("x", "n", "low", "high"), [
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
    # Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no correction).
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 10, 0.0, 0.2775),
])
def test_wilson_interval_matches_newcombes_published_examples(x: int, n: int, low: float,
                                                              high: float) -> None:
    i = wilson(x, n)
    assert (round(i.low, 4), round(i.high, 4)) == (low, high)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "low", "high"), [
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score).
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
])
def test_newcombe_difference_matches_the_published_examples(x1: int, n1: int, x2: int, n2: int,
                                                            low: float, high: float) -> None:
    i = newcombe(x1, n1, x2, n2)
    assert (round(i.low, 4), round(i.high, 4)) == (low, high)


def test_welch_difference_of_means_matches_a_hand_computation() -> None:
    # means 6 and 3; variances 10 and 2.5; se = sqrt(10/5 + 2.5/5) = sqrt(2.5) = 1.581139
    # 3 ± 1.959964 × 1.581139 = 3 ± 3.098975
    i = welch([2, 4, 6, 8, 10], [1, 2, 3, 4, 5])
    assert i.estimate == 3.0
    assert (round(i.low, 6), round(i.high, 6)) == (-0.098975, 6.098975)
    m = mean([1, 2, 3, 4, 5])  # 3 ± 1.959964 × sqrt(2.5 / 5)
    assert (round(m.low, 6), round(m.high, 6)) == (1.614096, 4.385904)


@given(x=st.integers(0, 500), extra=st.integers(0, 500))
def test_wilson_interval_holds_its_estimate_inside_zero_and_one(x: int, extra: int) -> None:
    n = x + extra
    if n == 0:
        return
    i = wilson(x, n)
    assert 0.0 <= i.low <= i.estimate <= i.high <= 1.0
    assert math.isclose(i.estimate, x / n)


def rows(n: int, converted: int) -> list[list[float]]:
    return [[1.0 if i < converted else 0.0, 10.0 * (i % 3), 0.0, 0.0, float(i % 4)]
            for i in range(n)]


def test_below_the_minimum_per_group_the_report_says_not_enough_data() -> None:
    r = compare(rows(500, 50), rows(MIN_PER_GROUP - 1, 3), since=0.0, until=1.0, share=0.05,
                salt="s")
    assert not r.enough_data
    assert r.note is not None and r.note.startswith("not enough data")
    assert f"at least {MIN_PER_GROUP}" in r.note
    assert {m.verdict for m in r.metrics} == {"not enough data"}
    assert all(m.difference is None for m in r.metrics)
    assert r.to_dict()["metrics"][0]["difference"] is None


def test_at_the_minimum_per_group_the_report_gives_every_interval() -> None:
    r = compare(rows(500, 100), rows(MIN_PER_GROUP, 1), since=0.0, until=1.0, share=0.05,
                salt="s")
    assert r.enough_data and r.note is None
    conversions = r.metrics[0]
    assert conversions.treated is not None and conversions.treated.estimate == 0.2
    assert conversions.difference is not None
    expected = newcombe(100, 500, 1, MIN_PER_GROUP)
    assert conversions.difference == expected
    assert conversions.verdict == "treated higher (better)"
    complaints = r.metrics[3]
    assert complaints.verdict == "no clear difference"
    assert pytest.approx(1.959964, abs=1e-6) == Z95


@given(batches=st.lists(st.lists(st.floats(-1e6, 1e6), max_size=20), min_size=1, max_size=8))
def test_moments_merged_batch_by_batch_equal_the_whole_sample(
        batches: list[list[float]]) -> None:
    from accord.lift._stats import Moments

    m = Moments()
    for b in batches:
        m.add(b)
    whole = [x for b in batches for x in b]
    assert m.n == len(whole)
    if len(whole) >= 2:
        assert m.mean == pytest.approx(sum(whole) / len(whole), rel=1e-9, abs=1e-6)
        import numpy as np

        assert m.variance == pytest.approx(float(np.var(whole, ddof=1)), rel=1e-7, abs=1e-6)
