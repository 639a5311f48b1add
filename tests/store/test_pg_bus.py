"""Live updates across replicas through LISTEN/NOTIFY: each message reaches each replica's
subscribers exactly once, in order, whole or slimmed to fit."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from accord import Accord
from accord.model import Decision
from accord.policy import Policy
from accord.store.bus import Message, Subscription
from accord.store.bus_pg import PAYLOAD_LIMIT, PgBus

pytestmark = [pytest.mark.postgres,
              pytest.mark.parametrize("store_url", ["postgres"], indirect=True)]


def until(sub: Subscription, predicate: object, deadline: float = 10.0) -> list[Message]:
    """Collect messages until one satisfies ``predicate`` (or fail after ``deadline``)."""
    got: list[Message] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        m = sub.get(timeout=0.1)
        if m is None:
            continue
        got.append(m)
        if callable(predicate) and predicate(m):
            return got
    raise AssertionError(f"no matching message within {deadline}s; got {got}")


@pytest.fixture
def buses(store_url: str) -> Iterator[tuple[PgBus, PgBus]]:
    a, b = PgBus(store_url, replica="a"), PgBus(store_url, replica="b")
    yield a, b
    a.close()
    b.close()


def test_each_replica_sees_every_message_exactly_once_and_in_order(
        buses: tuple[PgBus, PgBus]) -> None:
    a, b = buses
    assert a.channel == b.channel and a.channel.startswith("accord:")
    on_a, on_b = a.subscribe(), b.subscribe()
    first = {"kind": "decision", "customer": "c1", "agents": ["upsell"], "n": 1}
    second = {"kind": "outcome", "customer": "c1", "agents": ["upsell"], "n": 2}
    a.publish([first, second])
    assert until(on_b, lambda m: m.get("n") == 2) == [first, second]
    marker = {"kind": "claim", "customer": "c2", "agents": [], "n": 3}
    b.publish([marker])  # sent after a's messages reached the database, so it arrives after them
    assert until(on_a, lambda m: m.get("n") == 3) == [first, second, marker]
    assert until(on_b, lambda m: m.get("n") == 3) == [marker]
    assert on_a.drain() == [] and on_b.drain() == []


def test_equal_messages_are_not_folded_into_one(buses: tuple[PgBus, PgBus]) -> None:
    a, b = buses
    on_b = b.subscribe(kinds={"context", "claim"})
    same = {"kind": "context", "customer": "c1", "agents": [], "version": 2}
    a.publish([same, same])
    a.publish([{"kind": "claim", "customer": "end", "agents": []}])
    assert until(on_b, lambda m: m["customer"] == "end") == [same, same, {
        "kind": "claim", "customer": "end", "agents": []}]


def test_a_decision_too_large_for_one_notification_arrives_slimmed_but_valid(
        buses: tuple[PgBus, PgBus]) -> None:
    a, b = buses
    on_b = b.subscribe(kinds={"decision"})
    decision = Decision.model_validate({
        "id": "d_big", "outcome": "stop",
        "reasons": [{"rule": f"rule-{i}", "effect": "stop", "message": "x" * 400,
                     "refs": {"touches": [f"t_{j}" for j in range(20)]}} for i in range(20)],
        "proposal": {"agent": "upsell", "customer": "c1", "channel": "email",
                     "intent": "upsell", "topic": "t" * 500,
                     "offer": {"product": "pro", "notes": "n" * 3000}}})
    big = {"kind": "decision", "customer": "c1", "agents": ["upsell"],
           "decision": decision.model_dump(mode="json")}
    assert len(a.payload(big).encode()) <= PAYLOAD_LIMIT
    a.publish([big])
    [got] = until(on_b, lambda m: True)
    assert got["truncated"] is True
    slim = Decision.model_validate(got["decision"])
    assert (slim.id, slim.outcome.value, slim.proposal.channel) == ("d_big", "stop", "email")
    assert [r.rule for r in slim.reasons] == [r.rule for r in decision.reasons]


def test_a_decision_on_one_replica_reaches_subscribers_of_another(
        store_url: str, policy: Policy) -> None:
    one = Accord.open(store_url, policy=policy)
    two = Accord.open(store_url, policy=policy)
    try:
        assert isinstance(two.bus, PgBus) and isinstance(one.bus, PgBus)  # the store's bus
        with two.subscribe(agent="email-cadence") as watching:
            d = one.propose("email-cadence", "c1", channel="email", intent="nurture")
            last = one.propose("email-cadence", "c2", channel="email", intent="nurture")
            got = until(watching, lambda m: m["customer"] == "c2")
        assert [m["decision"]["id"] for m in got] == [d.id, last.id]
    finally:
        one.close()
        two.close()
