"""The input rules of docs/api.md hold in process too (MCP, A2A and the CLI call these), on both
stores, and a refusal writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import Accord, InvalidInput
from accord.model import INT64_MAX, check_json


def nothing_written(acc: Accord) -> bool:
    return list(acc.iter_ledger()) == []


@pytest.mark.parametrize("customer", ["_fleet", "_anything"])
def test_a_customer_id_in_the_reserved_underscore_namespace_is_refused_everywhere(
        any_acc: Accord, customer: str) -> None:
    attempts: list[Any] = [
        lambda: any_acc.propose("upsell", customer, channel="email", intent="upsell"),
        lambda: any_acc.record_event(customer, "reply"),
        lambda: any_acc.update_context(customer, {"tier": "gold"}, expected_version=0),
        lambda: any_acc.claim("upsell", customer, "watch", "2026-11-30T00:00:00Z"),
        lambda: any_acc.release("upsell", customer),
        lambda: any_acc.context(customer),
        lambda: any_acc.handoff("lead-scoring", "upsell", "scored-lead", {"score": 3},
                                customer=customer),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidInput) as info:
            attempt()
        assert info.value.where == "customer" and "'_'" in str(info.value)
    assert nothing_written(any_acc)


@pytest.mark.parametrize(("at", "where"), [("2200-01-01T00:00:00Z", "at")])
def test_an_event_outside_the_timestamp_range_is_refused_before_it_is_recorded(
        any_acc: Accord, at: str, where: str) -> None:
    with pytest.raises(InvalidInput) as info:
        any_acc.record_event("c1", "reply", at=at)
    assert info.value.where == where
    assert nothing_written(any_acc)


def test_a_claim_beyond_366_days_is_refused(any_acc: Accord) -> None:
    with pytest.raises(InvalidInput) as info:
        any_acc.claim("upsell", "c1", "watch", "2099-01-01T00:00:00Z")
    assert info.value.where == "until" and "366 days" in str(info.value)
    assert nothing_written(any_acc)


def test_a_reused_event_id_replays_with_the_same_body_and_conflicts_with_another(
        any_acc: Accord) -> None:
    first = any_acc.record_event("c1", "opt_out", data={"channel": "sms"}, event_id="e-1")
    again = any_acc.record_event("c1", "opt_out", data={"channel": "sms"}, event_id="e-1")
    assert again.id == first.id and again.at == first.at
    assert again.context_version == first.context_version
    with pytest.raises(Exception) as info:
        any_acc.record_event("c1", "opt_out", data={"channel": "email"}, event_id="e-1")
    assert getattr(info.value, "status", None) == 409
    assert getattr(info.value, "where", None) == "event_id"
    assert len([e for e in any_acc.iter_ledger() if e.kind == "event"]) == 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON)
def test_check_json_accepts_exactly_what_both_stores_keep(value: Any) -> None:
    def storable(v: Any) -> bool:
        if isinstance(v, str):
            return "\x00" not in v and not any(0xD800 <= ord(c) <= 0xDFFF for c in v)
        if isinstance(v, bool) or v is None:
            return True
        if isinstance(v, int):
            return -INT64_MAX - 1 <= v <= INT64_MAX
        if isinstance(v, float):
            return v == v and abs(v) != float("inf")
        if isinstance(v, list):
            return all(storable(x) for x in v)
        return all(storable(k) and storable(x) for k, x in v.items())

    try:
        check_json(value)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == storable(value)
