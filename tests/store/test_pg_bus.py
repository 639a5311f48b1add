"""Live updates across replicas through LISTEN/NOTIFY: each message reaches each replica's
subscribers exactly once, in order, whole or slimmed to fit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

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


def _heard(conn: psycopg.Connection[Any], wait: float, most: int | None = None) -> list[str]:
    """Notifications a plain LISTEN connection received within ``wait`` seconds (or the
    first ``most`` of them)."""
    return [n.payload for n in conn.notifies(timeout=wait, stop_after=most)]


def _settles(check: Any, deadline: float = 10.0) -> bool:
    end = time.monotonic() + deadline
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_a_lone_replica_sends_no_notification_until_another_replica_appears(
        store_url: str) -> None:
    a = PgBus(store_url, replica="a")
    try:
        with psycopg.connect(store_url, autocommit=True) as plain:
            plain.execute(sql.SQL("LISTEN {}").format(sql.Identifier(a.channel)))
            here = a.subscribe()
            a.publish([{"kind": "decision", "customer": f"c{i}", "agents": []}
                       for i in range(5)])
            assert len(until(here, lambda m: m["customer"] == "c4")) == 5  # local: delivered
            assert _heard(plain, 1.0) == []  # on the wire: nothing, not even a payload
            assert (a.sent, a.skipped) == (0, 5)
            here.close()
            assert not a.active

            b = PgBus(store_url, replica="b")
            try:
                on_b = b.subscribe()  # returns once every count of replicas includes b
                a.publish([{"kind": "claim", "customer": "after", "agents": []}])
                assert until(on_b, lambda m: True) == [
                    {"kind": "claim", "customer": "after", "agents": []}]
                assert len(_heard(plain, 10.0, most=1)) == 1
                assert _settles(lambda: a.sent == 1)
            finally:
                b.close()
            a.publish([{"kind": "claim", "customer": "gone", "agents": []}])
            # b left: counted once more, or already skipped
            assert _settles(lambda: a.sent + a.skipped == 7)
    finally:
        a.close()


def test_a_replica_that_just_appeared_misses_nothing_published_after_it_subscribed(
        store_url: str) -> None:
    """A publisher whose count said "alone" a moment ago still reaches a replica that
    subscribed since: the new replica waits out the count's lifetime before it accepts a
    subscription. Repeated, since the count's age at the moment varies."""
    a = PgBus(store_url, replica="a", refresh=1.0)
    try:
        for i in range(3):
            a.publish([{"kind": "context", "customer": "before", "agents": []}])
            # a fresh count says nobody else listens (b{i-1} has left)
            assert _settles(lambda: a.others == 0 and not a.active)
            b = PgBus(store_url, replica=f"b{i}", refresh=1.0)
            try:
                on_b = b.subscribe()
                first = {"kind": "decision", "customer": f"first-{i}", "agents": [], "n": 1}
                a.publish([first, {**first, "n": 2}])
                assert until(on_b, lambda m: m.get("n") == 2) == [first, {**first, "n": 2}]
            finally:
                b.close()
    finally:
        a.close()


def test_without_its_table_of_replicas_a_bus_notifies_every_message(store_url: str) -> None:
    a = PgBus(store_url, replica="a")
    try:
        with psycopg.connect(store_url, autocommit=True) as plain:
            plain.execute(sql.SQL("LISTEN {}").format(sql.Identifier(a.channel)))
            assert not a.active
            plain.execute("DROP TABLE bus_replicas")
            assert _settles(lambda: a.active)  # it cannot tell who listens: it assumes someone
            a.publish([{"kind": "claim", "customer": "c1", "agents": []}])
            assert len(_heard(plain, 10.0, most=1)) == 1
            assert a.others is None and a.lost == 0
    finally:
        a.close()
