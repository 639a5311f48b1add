"""A go is final: a go due within the commit horizon is never revoked by pre-emption; a later,
higher-precedence proposal waits for it instead. Facts about the customer still revoke
(issue 13, Build item 3)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from accord import Accord
from accord.model import Outcome
from tests.conftest import Clock

MINUTE = 60.0
HOUR = 3600.0


def test_a_higher_seat_waits_for_a_go_due_within_the_commit_horizon(
        any_acc: Accord, clock: Clock) -> None:
    upsell = any_acc.propose("upsell", "c1", channel="email", intent="upsell")
    assert upsell.go  # the agent acts on it at once
    clock.advance(MINUTE)
    churn = any_acc.propose("churn-guard", "c1", channel="email", intent="retain")
    assert churn.outcome is not Outcome.GO and churn.preempted == []
    final = next(r for r in churn.reasons if r.rule == "go-is-final")
    assert final.refs["touches"] == [upsell.touch_id] and "upsell" in final.message
    assert "15m commit horizon" in final.message
    assert any_acc.touch(upsell.touch_id).status.value == "pending"  # never revoked


def test_a_go_due_beyond_the_horizon_may_still_be_pre_empted(
        any_acc: Accord, clock: Clock) -> None:
    later = any_acc.propose("upsell", "c1", channel="email", intent="upsell",
                            at=clock() + 16 * MINUTE)
    assert later.go
    churn = any_acc.propose("churn-guard", "c1", channel="email", intent="retain")
    assert churn.go and churn.preempted == [later.touch_id]


def test_a_fact_about_the_customer_still_revokes_a_go_within_the_horizon(
        any_acc: Accord) -> None:
    reengage = any_acc.propose("reengage", "c1", channel="email", intent="reactivate")
    assert reengage.go
    event = any_acc.record_event("c1", "purchase", data={"value": 50})
    assert event.revoked == [reengage.touch_id]


def test_agents_that_act_on_go_at_once_never_exceed_the_cap_nor_see_a_go_revoked(
        any_acc: Accord, clock: Clock) -> None:
    """Every seat proposes to every customer at the same moment, lowest precedence first on
    half of them; each agent counts a message delivered the instant it hears go."""
    customers = [f"r{i}" for i in range(24)]
    seats = [("reengage", "reactivate"), ("email-cadence", "nurture"), ("upsell", "upsell"),
             ("churn-guard", "retain")]

    def run(customer: str) -> list[str]:
        order = seats if int(customer[1:]) % 2 else seats[::-1]
        delivered = []
        for agent, intent in order:
            clock.advance(MINUTE)  # time moves on between proposals, inside the horizon
            d = any_acc.propose(agent, customer, channel="email", intent=intent)
            if d.go:
                delivered.append(d.touch_id or "")  # the message is out
        return delivered

    with ThreadPoolExecutor(4) as pool:
        delivered = dict(zip(customers, pool.map(run, customers), strict=True))
    assert Counter(len(v) for v in delivered.values()) == {1: len(customers)}  # daily-cap: 1
    for touches in delivered.values():
        assert all(any_acc.touch(t).status.value == "pending" for t in touches)
    assert not [e for e in any_acc.ledger(limit=10_000) if e.kind == "revocation"]
