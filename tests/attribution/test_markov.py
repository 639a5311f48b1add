"""Markov removal effects against the classic three-channel worked example."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from accord.attribution import Journey, TouchRecord, attribute

TOL = 1e-9  # exact linear algebra on both sides

# The worked example (Anderl et al. style, popularised in many tutorials):
#   C1 > C2 > C3 > conversion,  C1 > null,  C2 > C3 > null
# P(conv) = 1/3; removing C1 → 1/6 (RE 0.5); removing C2 or C3 → 0 (RE 1).
# Shares 0.5/2.5, 1/2.5, 1/2.5 = 0.2, 0.4, 0.4.
PATHS = [(("C1", "C2", "C3"), True), (("C1",), False), (("C2", "C3"), False)]


def journeys(paths: list[tuple[tuple[str, ...], bool]], value: float = 1.0) -> list[Journey]:
    return [
        Journey(
            f"c{i}",
            tuple(TouchRecord(f"c{i}", ch, "email", float(k)) for k, ch in enumerate(path)),
            end=10.0,
            converted=conv,
            value=value if conv else 0.0,
        )
        for i, (path, conv) in enumerate(paths)
    ]


def brute_force_removal(paths: list[tuple[tuple[str, ...], bool]]) -> dict[str, float]:
    """Independent computation: build the absorbing chain from the paths with dicts and solve
    with the fundamental matrix N = (I - Q)^-1, absorption B = N R."""
    states = sorted({s for p, _ in paths for s in p})
    names = ["start", *states]
    counts = {(a, b): 0 for a in names for b in [*states, "conv", "null"]}
    for path, conv in paths:
        seq = ["start", *path, "conv" if conv else "null"]
        for a, b in itertools.pairwise(seq):
            counts[a, b] += 1

    def p_conv(removed: str | None) -> float:
        size = len(names)
        q, r = np.zeros((size, size)), np.zeros((size, 2))
        for i, a in enumerate(names):
            total = sum(counts[a, b] for b in [*states, "conv", "null"])
            if total == 0:
                continue
            for j, b in enumerate(names[1:], 1):
                if b != removed:
                    q[i, j] = counts[a, b] / total
            r[i, 0] = counts[a, "conv"] / total if a != removed else 0.0
        n = np.linalg.inv(np.eye(size) - q)
        return float((n @ r)[0, 0])

    base = p_conv(None)
    return {s: 1 - p_conv(s) / base for s in states}


def test_markov_reproduces_the_published_three_channel_example() -> None:
    result = attribute(journeys(PATHS), "markov")
    assert result.credit == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4}, abs=TOL)
    assert result.details["removal_effect"] == pytest.approx({"C1": 0.5, "C2": 1, "C3": 1}, abs=TOL)


def test_markov_removal_effects_match_an_independent_absorbing_chain_solution() -> None:
    rng = np.random.default_rng(3)
    paths = [
        (
            tuple(rng.choice(["A", "B", "C", "D"], size=rng.integers(1, 5)).tolist()),
            bool(rng.random() < 0.4),
        )
        for _ in range(300)
    ]
    expected = brute_force_removal(paths)
    result = attribute(journeys(paths), "markov")
    assert result.details["removal_effect"] == pytest.approx(expected, abs=TOL)
    total = sum(expected.values())
    attributed = sum(1.0 for _, c in paths if c)
    assert result.credit == pytest.approx(
        {k: attributed * v / total for k, v in expected.items()}, abs=TOL
    )


def simulate_conversion(p: np.ndarray, removed: int | None, n: int, seed: int) -> float:
    """Random walks on transition matrix ``p`` (0 start, 1-3 C1-C3, 4 conv, 5 null)."""
    p = p.copy()
    if removed is not None:
        p[:, 5] += p[:, removed]
        p[:, removed] = 0.0
    rng = np.random.default_rng(seed)
    state = np.zeros(n, dtype=np.int64)
    cum = np.cumsum(p, axis=1)
    for _ in range(20):
        moving = state < 4
        u = rng.random(n)
        state = np.where(moving, (u[:, None] > cum[state]).sum(axis=1), state)
    return float((state == 4).mean())


def test_markov_removal_effect_agrees_with_monte_carlo_walks_on_the_chain() -> None:
    p = np.zeros((6, 6))
    p[0, 1], p[0, 2] = 2 / 3, 1 / 3  # start → C1, C2
    p[1, 2], p[1, 5] = 1 / 2, 1 / 2  # C1 → C2, null
    p[2, 3] = 1.0  # C2 → C3
    p[3, 4], p[3, 5] = 1 / 2, 1 / 2  # C3 → conv, null
    p[4, 4] = p[5, 5] = 1.0
    n = 200_000
    full = simulate_conversion(p, None, n, seed=1)
    without_c1 = simulate_conversion(p, 1, n, seed=2)
    # Tolerance: the standard error of 1 - p1/p0 here is about 0.003; allow 0.015 (5 SE).
    result = attribute(journeys(PATHS), "markov")
    assert result.details["removal_effect"]["C1"] == pytest.approx(1 - without_c1 / full, abs=0.015)


def test_markov_ignores_undelivered_touches_in_paths() -> None:
    js = journeys(PATHS)
    blocked = TouchRecord("c0", "C9", "email", 0.5, outcome="stop")
    js[0] = Journey("c0", (*js[0].touches, blocked), js[0].end, True, 1.0)
    assert attribute(js, "markov").credit["C9"] == 0.0


def test_markov_with_no_conversions_credits_nothing() -> None:
    result = attribute(journeys([(("A",), False)]), "markov")
    assert result.credit == {"A": 0.0} and result.total_value == 0.0


def test_markov_rejects_higher_orders_it_does_not_implement() -> None:
    with pytest.raises(ValueError, match="first-order"):
        attribute(journeys(PATHS), "markov", order=2)
