"""Coordination quality: collision / contradiction detection and Wilson intervals."""

from __future__ import annotations

import pytest

from accord.attribution import (
    CustomerEvent,
    Journey,
    TouchRecord,
    coordination_quality,
    wilson_interval,
)

H = 3600.0


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), table I: 0/10 → [0, 0.2775]; 81/263 → [0.2553, 0.3662] (4 decimals)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)


def test_wilson_interval_with_no_observations_is_uninformative() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def j(
    *touches: tuple[str, float, str | None], converted: bool = False, event: str | None = None
) -> Journey:
    recs = tuple(TouchRecord("c", a, "email", at, intent=i) for a, at, i in touches)
    events = (CustomerEvent("c", 1e9, event),) if event else ()
    return Journey("c", recs, end=1e9, converted=converted, events=events)


def test_two_agents_within_72_hours_are_a_collision_but_one_agent_twice_is_not() -> None:
    journeys = [
        j(("a", 0, None), ("b", 71 * H, None)),
        j(("a", 0, None), ("a", 1 * H, None)),
        j(("a", 0, None), ("b", 73 * H, None)),
    ]
    report = coordination_quality(journeys)
    assert report.row("collision").journeys == 1
    assert report.row("no collision").journeys == 2


def test_stopped_touches_do_not_cause_collisions() -> None:
    touches = (TouchRecord("c", "a", "email", 0), TouchRecord("c", "b", "sms", 1, outcome="stop"))
    report = coordination_quality([Journey("c", touches, 2.0, False)])
    assert report.row("collision").journeys == 0


def test_conflicting_intents_within_seven_days_are_a_contradiction() -> None:
    journeys = [
        j(("a", 0, "retain"), ("a", 6 * 24 * H, "upsell")),
        j(("a", 0, "retain"), ("a", 8 * 24 * H, "upsell")),
        j(("a", 0, "retain"), ("a", H, "survey")),
    ]
    report = coordination_quality(journeys)
    assert report.row("contradiction").journeys == 1
    assert report.row("clean").journeys == 2


def test_quality_rates_count_journeys_with_each_outcome_per_group() -> None:
    clash = [j(("a", 0, None), ("b", H, None), event="unsubscribe") for _ in range(3)]
    clash += [j(("a", 0, None), ("b", H, None), converted=True)]
    calm = [j(("a", 0, None), converted=True) for _ in range(3)] + [
        j(("a", 0, None), event="complaint")
    ]
    report = coordination_quality(clash + calm)
    coll, clean = report.row("collision"), report.row("clean")
    assert (coll.rates["unsubscribe"].count, coll.rates["unsubscribe"].rate) == (3, 0.75)
    assert clean.rates["conversion"].rate == 0.75
    assert clean.rates["complaint"].count == 1
    low, high = wilson_interval(3, 4)
    assert (coll.rates["unsubscribe"].low, coll.rates["unsubscribe"].high) == (low, high)
    assert report.row("all").journeys == 8
