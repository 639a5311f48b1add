"""Journey building: windows, flags, streaming order, event attachment."""

from __future__ import annotations

import pytest

from accord.attribution import (
    Conversion,
    CustomerEvent,
    TouchRecord,
    build_journeys,
    sort_records,
)

D = 86400.0


def test_conversion_journey_keeps_only_touches_inside_the_lookback_window() -> None:
    touches = [
        TouchRecord("c", "churn", "email", 0.0),
        TouchRecord("c", "upsell", "sms", 20 * D),
        TouchRecord("c", "reengage", "push", 40 * D),
    ]
    journeys = list(build_journeys(touches, [Conversion("c", 45 * D, 10.0)], lookback_s=30 * D))
    assert [(j.converted, [t.agent for t in j.touches]) for j in journeys] == [
        (False, ["churn"]),
        (True, ["upsell", "reengage"]),
    ]


def test_touches_after_the_last_conversion_form_a_non_converting_journey() -> None:
    touches = [TouchRecord("c", "a", "email", 0.0), TouchRecord("c", "b", "email", 2 * D)]
    journeys = list(build_journeys(touches, [Conversion("c", D, 5.0)]))
    assert [(j.converted, len(j.touches)) for j in journeys] == [(True, 1), (False, 1)]


def test_a_touch_is_never_part_of_two_conversion_journeys() -> None:
    touches = [TouchRecord("c", "a", "email", 0.0)]
    events = [Conversion("c", D, 5.0), Conversion("c", 2 * D, 7.0)]
    journeys = list(build_journeys(touches, events))
    assert [len(j.touches) for j in journeys] == [1, 0]
    assert [j.value for j in journeys] == [5.0, 7.0]


def test_stopped_and_deferred_touches_stay_in_the_journey_but_are_not_delivered() -> None:
    touches = [
        TouchRecord("c", "a", "email", 0.0),
        TouchRecord("c", "b", "sms", 1.0, outcome="stop"),
        TouchRecord("c", "c", "sms", 2.0, outcome="defer"),
        TouchRecord("c", "d", "sms", 3.0, status="revoked"),
    ]
    (journey,) = build_journeys(touches, [Conversion("c", 10.0, 1.0)])
    assert len(journey.touches) == 4
    assert [t.agent for t in journey.delivered] == ["a"]
    assert [t.agent for t in journey.prevented] == ["b", "c", "d"]


def test_silent_touches_are_split_into_lookback_sized_windows() -> None:
    touches = [TouchRecord("c", "a", "email", day * D) for day in (0, 10, 40, 45)]
    journeys = list(build_journeys(touches, [], lookback_s=30 * D))
    assert [len(j.touches) for j in journeys] == [2, 2]
    assert not any(j.converted for j in journeys)


def test_unsubscribe_goes_to_the_journey_of_the_latest_earlier_touch() -> None:
    touches = [TouchRecord("c", "a", "email", 0.0), TouchRecord("c", "b", "email", 50 * D)]
    events = [
        Conversion("c", D, 5.0),
        CustomerEvent("c", 51 * D, "unsubscribe"),
        CustomerEvent("c", 200 * D, "complaint"),  # too late for any journey
    ]
    journeys = list(build_journeys(touches, events))
    assert [[e.type for e in j.events] for j in journeys] == [[], ["unsubscribe"]]


def test_purchase_customer_events_count_as_conversions() -> None:
    touches = [TouchRecord("c", "a", "email", 0.0)]
    (journey,) = build_journeys(touches, [CustomerEvent("c", 1.0, "purchase", 12.0)])
    assert journey.converted and journey.value == 12.0


def test_unsorted_customers_are_rejected_and_sort_records_fixes_them() -> None:
    touches = [TouchRecord("b", "a", "email", 0.0), TouchRecord("a", "a", "email", 0.0)]
    with pytest.raises(ValueError, match="sort_records"):
        list(build_journeys(touches, []))
    assert [j.customer for j in build_journeys(*sort_records(touches, []))] == ["a", "b"]


def test_build_journeys_reports_progress_with_the_final_count() -> None:
    seen: list[int] = []
    touches = [TouchRecord(f"c{i:03d}", "a", "email", 0.0) for i in range(25)]
    list(build_journeys(touches, [], progress=seen.append))
    assert seen[-1] == 25


def test_build_journeys_is_lazy_and_consumes_one_customer_at_a_time() -> None:
    consumed: list[str] = []

    def touches():  # type: ignore[no-untyped-def]
        for i in range(1000):
            consumed.append(str(i))
            yield TouchRecord(f"c{i:04d}", "a", "email", 0.0)

    stream = build_journeys(touches(), [])
    next(stream)
    assert len(consumed) <= 2
