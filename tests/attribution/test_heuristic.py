"""Rule-based models against journeys whose credit is computed by hand."""

from __future__ import annotations

import math

import pytest

from accord.attribution import Conversion, Journey, TouchRecord, attribute, build_journeys

D = 86400.0
TOL = 1e-9  # all heuristic credits are exact arithmetic up to float rounding


def journey(
    *agents: str, value: float = 100.0, gap: float = D, stopped: int | None = None
) -> list[Journey]:
    touches = [
        TouchRecord("c", a, f"ch-{a}", i * gap, outcome="stop" if i == stopped else "go")
        for i, a in enumerate(agents)
    ]
    return list(build_journeys(touches, [Conversion("c", len(agents) * gap, value)]))


def test_first_touch_gives_everything_to_the_first_delivered_touch() -> None:
    result = attribute(journey("a", "b", "c", stopped=0), "first_touch")
    assert result.credit == {"b": 100.0, "a": 0.0, "c": 0.0}


def test_last_touch_gives_everything_to_the_last_delivered_touch() -> None:
    assert attribute(journey("a", "b", "c"), "last_touch").credit["c"] == 100.0


def test_linear_splits_value_equally_among_delivered_touches() -> None:
    result = attribute(journey("a", "b", "a", "c", stopped=3), "linear")
    assert result.credit["a"] == pytest.approx(200 / 3, abs=TOL)
    assert result.credit["b"] == pytest.approx(100 / 3, abs=TOL)
    assert result.credit["c"] == 0.0


def test_time_decay_halves_weight_per_half_life_of_age() -> None:
    # touches 2 days, 1 day before conversion; half-life 1 day → weights 1/4 : 1/2
    result = attribute(journey("a", "b", gap=D), "time_decay", half_life_s=D)
    assert result.credit["a"] == pytest.approx(100 / 3, abs=TOL)
    assert result.credit["b"] == pytest.approx(200 / 3, abs=TOL)


def test_time_decay_survives_journeys_far_older_than_the_half_life() -> None:
    result = attribute(journey("a", "b", gap=20 * D), "time_decay", half_life_s=60.0)
    assert math.isfinite(result.credit["a"]) and result.credit["b"] == pytest.approx(100.0)


def test_position_based_gives_40_20_40_with_the_middle_shared() -> None:
    result = attribute(journey("a", "b", "c", "d"), "position")
    expected = {"a": 40.0, "b": 10.0, "c": 10.0, "d": 40.0}
    assert result.credit == pytest.approx(expected, abs=TOL)


def test_position_based_with_two_touches_splits_in_proportion_of_the_ends() -> None:
    result = attribute(journey("a", "b"), "position", first=0.3, last=0.5)
    assert result.credit == pytest.approx({"a": 37.5, "b": 62.5}, abs=TOL)


@pytest.mark.parametrize("model", ["first_touch", "last_touch", "linear", "time_decay", "position"])
def test_credit_plus_unattributed_equals_total_value(model: str) -> None:
    journeys = journey("a", "b", "c") + journey("a", value=50.0, stopped=0)
    journeys += [Journey("x", (), end=0.0, converted=True, value=7.0)]
    result = attribute(journeys, model)
    assert result.total_value == 157.0
    assert result.unattributed == 57.0
    assert sum(result.credit.values()) == pytest.approx(100.0, abs=TOL)


def test_credit_by_channel_uses_the_touch_channel() -> None:
    result = attribute(journey("a", "b"), "linear", by="channel")
    assert result.credit == {"ch-a": 50.0, "ch-b": 50.0}


def test_credit_by_agent_set_gives_each_journey_to_its_combination() -> None:
    journeys = journey("b", "a", "b") + journey("a", value=30.0) + journey("a", "c", stopped=1)
    result = attribute(journeys, "markov", by="agent_set")
    assert result.credit == {"a+b": 100.0, "a": 130.0}
    assert result.details["journeys"]["a"] == 2.0


def test_streaming_in_small_chunks_gives_the_same_credit_as_one_batch() -> None:
    journeys = [j for i in range(30) for j in journey(*"abcde"[: 1 + i % 5], value=float(i))]
    whole = attribute(journeys, "time_decay")
    chunked = attribute(journeys, "time_decay", chunk_size=7)
    assert chunked.credit == pytest.approx(whole.credit, rel=1e-12)


def test_attribute_rejects_unknown_models_and_keys() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        attribute([], "magic")
    with pytest.raises(ValueError, match="by must be"):
        attribute([], "linear", by="intent")
