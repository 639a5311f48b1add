"""Shapley values: brute force over permutations, the axioms, and the sampled estimator."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.attribution import Journey, TouchRecord, attribute
from accord.attribution._shapley import closure_worth, exact_shapley, sampled_shapley, worth_table

TOL = 1e-9  # exact computations agree to float rounding


def brute_force(worth: dict[frozenset[int], float], n: int) -> list[float]:
    """Average marginal contribution over all n! orderings — the definition, nothing clever."""
    phi = [0.0] * n
    for order in itertools.permutations(range(n)):
        seen: set[int] = set()
        for p in order:
            before = worth[frozenset(seen)]
            seen.add(p)
            phi[p] += worth[frozenset(seen)] - before
    return [x / math.factorial(n) for x in phi]


def all_subsets(n: int) -> list[frozenset[int]]:
    return [frozenset(c) for k in range(n + 1) for c in itertools.combinations(range(n), k)]


def as_table(worth: dict[frozenset[int], float], n: int) -> np.ndarray:
    table = np.zeros(1 << n)
    for s, v in worth.items():
        table[sum(1 << i for i in s)] = v
    return table


games = st.integers(min_value=1, max_value=5).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.floats(-10, 10, allow_nan=False), min_size=1 << n, max_size=1 << n),
    )
)


@given(games)
@settings(max_examples=60, deadline=None)
def test_exact_shapley_matches_brute_force_over_permutations(game: tuple[int, list[float]]) -> None:
    n, values = game
    worth = dict(zip(all_subsets(n), values, strict=True))
    np.testing.assert_allclose(exact_shapley(as_table(worth, n)), brute_force(worth, n), atol=1e-9)


@given(games)
@settings(max_examples=60, deadline=None)
def test_shapley_values_are_efficient(game: tuple[int, list[float]]) -> None:
    _, values = game
    table = np.asarray(values)
    assert exact_shapley(table).sum() == pytest.approx(table[-1] - table[0], abs=1e-9)


@given(games, st.data())
@settings(max_examples=60, deadline=None)
def test_a_null_player_gets_zero(game: tuple[int, list[float]], data: st.DataObject) -> None:
    n, values = game
    null = data.draw(st.integers(0, n - 1))
    table = np.asarray(values)
    masks = np.arange(1 << n)
    table = np.where(masks >> null & 1, table[masks & ~(1 << null)], table)  # adding null: no gain
    assert exact_shapley(table)[null] == pytest.approx(0.0, abs=1e-9)


@given(st.integers(2, 5), st.data())
@settings(max_examples=60, deadline=None)
def test_symmetric_players_get_equal_values(n: int, data: st.DataObject) -> None:
    # A game that depends only on how many of players 0 and 1 (and which others) are present.
    by_size = data.draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=n + 1, max_size=n + 1))
    masks = np.arange(1 << n)
    sizes = np.asarray([bin(m).count("1") for m in masks.tolist()])
    table = np.asarray(by_size)[sizes] + (masks >> 2) * 0.37  # players ≥ 2 add asymmetry
    phi = exact_shapley(table)
    assert phi[0] == pytest.approx(phi[1], abs=1e-9)


def test_sampled_shapley_is_within_four_standard_errors_of_the_exact_values() -> None:
    rng = np.random.default_rng(5)
    masks = rng.integers(1, 1 << 8, size=40)
    rates = rng.random(40)
    worth = closure_worth(masks, rates)
    exact = exact_shapley(worth_table(worth, 8))
    est, se = sampled_shapley(worth, 8, samples=4000, seed=1)
    assert np.all(se > 0)
    assert np.all(np.abs(est - exact) <= 4 * se + 1e-12)


def test_closure_worth_is_the_best_observed_subcoalition_rate() -> None:
    worth = closure_worth(np.asarray([0b01, 0b11, 0b100]), np.asarray([0.2, 0.1, 0.5]))
    np.testing.assert_allclose(
        worth(np.asarray([0b00, 0b01, 0b11, 0b111, 0b010])), [0, 0.2, 0.2, 0.5, 0]
    )


def journeys_for(coalitions: dict[tuple[str, ...], tuple[int, int]]) -> list[Journey]:
    out = []
    for agents, (n, conv) in coalitions.items():
        for i in range(n):
            touches = tuple(TouchRecord("c", a, "email", float(k)) for k, a in enumerate(agents))
            out.append(Journey("c", touches, 10.0, i < conv, 10.0 if i < conv else 0.0))
    return out


def test_shapley_attribution_splits_value_by_coalition_rate_contributions() -> None:
    # r(a) = 0.1, r(b) = 0.3, r(ab) = 0.5 → phi_a = (0.1 + 0.2)/2 = 0.15, phi_b = 0.35
    js = journeys_for({("a",): (10, 1), ("b",): (10, 3), ("a", "b"): (10, 5)})
    result = attribute(js, "shapley")
    assert result.details["phi"] == pytest.approx({"a": 0.15, "b": 0.35}, abs=TOL)
    assert result.credit == pytest.approx({"a": 90 * 0.3, "b": 90 * 0.7}, abs=TOL)
    assert sum(result.credit.values()) == pytest.approx(result.attributed, abs=TOL)


def test_shapley_beyond_the_exact_limit_samples_and_reports_standard_errors() -> None:
    js = journeys_for({("a",): (10, 1), ("b",): (10, 3), ("a", "b", "c"): (10, 5)})
    result = attribute(js, "shapley", exact_max_players=2, samples=500)
    assert set(result.details["standard_error"]) == {"a", "b", "c"}
    assert any("estimated" in w for w in result.warnings)
    assert sum(result.credit.values()) == pytest.approx(result.attributed, rel=1e-9)
