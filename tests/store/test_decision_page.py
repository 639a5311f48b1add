"""The dashboard's decisions query on each backend: any filter, paged by any size, gives every
matching decision exactly once, newest first."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import Accord
from accord.store._decisions import DecisionFilter, decision_page, touch_statuses
from tests.conftest import Clock

AGENTS = {"upsell": "upsell", "churn-guard": "retain", "reengage": "reactivate"}


def fill(acc: Accord, clock: Clock) -> list[dict[str, Any]]:
    """Decisions over a few hours, with stops (opt-outs) and defers among the gos."""
    acc.record_event("c-0", "opt_out", data={"channel": "email"})
    for i in range(24):
        clock.now += 600
        agent = list(AGENTS)[i % 3]
        acc.propose(agent, f"c-{i % 5}", channel="email", intent=AGENTS[agent])
    with acc.store.read() as tx:
        return decision_page(tx, DecisionFilter(), limit=1000)


def test_every_decision_matching_a_filter_comes_once_across_pages(
        any_acc: Accord, clock: Clock) -> None:
    everything = fill(any_acc, clock)
    start = min(r["at"] for r in everything)
    rules = sorted({reason["rule"] for r in everything
                    for reason in json.loads(r["body"])["reasons"]})
    assert len(everything) == 24 and "opted-out" in rules

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(agent=st.sampled_from([None, *AGENTS]),
           outcome=st.sampled_from([None, "go", "defer", "stop"]),
           rule=st.sampled_from([None, *rules]), customer=st.sampled_from([None, "c-0", "c-3"]),
           since=st.sampled_from([None, 0, 6, 12]), size=st.integers(1, 7))
    def check(agent: str | None, outcome: str | None, rule: str | None, customer: str | None,
              since: int | None, size: int) -> None:
        at = None if since is None else start + since * 600
        want = [r["ref"] for r in everything
                if (agent is None or r["agent"] == agent)
                and (customer is None or r["customer"] == customer)
                and (outcome is None or json.loads(r["body"])["outcome"] == outcome)
                and (rule is None or rule in {x["rule"] for x in
                                              json.loads(r["body"])["reasons"]})
                and (at is None or r["at"] >= at)]
        got: list[str] = []
        before = None
        while True:
            f = DecisionFilter(agent=agent, outcome=outcome, rule=rule, customer=customer,
                               since=at, before=before)
            with any_acc.store.read() as tx:
                page = decision_page(tx, f, limit=size)
            got += [r["ref"] for r in page]
            if len(page) < size:
                break
            before = page[-1]["seq"]
        assert got == want  # ``everything`` is newest first: so is every concatenation

    check()


def test_touch_statuses_say_where_each_touch_stands(any_acc: Accord) -> None:
    d = any_acc.propose("upsell", "c-1", channel="email", intent="upsell")
    e = any_acc.propose("churn-guard", "c-2", channel="email", intent="retain")
    assert d.touch_id and e.touch_id
    any_acc.report_outcome(d.touch_id, "executed")
    with any_acc.store.read() as tx:
        assert touch_statuses(tx, [d.touch_id, e.touch_id, "t_nosuch"]) == {
            d.touch_id: "executed", e.touch_id: "pending"}
        assert touch_statuses(tx, []) == {}
