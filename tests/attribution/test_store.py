"""Journeys and credit read from a real store, after a scripted fleet went through the gate.

The fleet (example policy, days from the clock's start):

* c1: churn-guard emails (day 0, $2, executed); email-cadence emails (day 3, $0.50, executed);
  upsell is stopped an hour later (daily cap, agent gap, mixed signals); purchase 100 on day 5.
* c2: reengage texts (day 0, $1, executed); email-cadence's go on day 3 failed; purchase 100
  on day 4; reengage is stopped on day 6 (bought recently).
* c3: email-cadence emails (day 0, executed); a ticket defers support and email-cadence.
* c4: purchase 100 with no touch at all (unattributed).
* c5: in renewal, upsell is flagged and waits for a human.
"""

from __future__ import annotations

from typing import Any

import pytest

from accord import Accord
from accord._errors import InvalidInput
from accord.attribution import ReadStats, attribution_report, build_report, from_accord

D = 86400.0


def act(acc: Accord, agent: str, customer: str, channel: str, intent: str, *,
        status: str | None = "executed", cost: float | None = None, at: Any = None) -> Any:
    decision = acc.propose(agent, customer, channel=channel, intent=intent, cost=cost, at=at)
    if decision.touch_id and status:
        acc.report_outcome(decision.touch_id, status)
    return decision


def scripted_fleet(acc: Accord, clock: Any) -> dict[str, Any]:
    """Drive the fleet above; returns the decisions the assertions refer to."""
    start = clock.now
    act(acc, "churn-guard", "c1", "email", "retain", cost=2.0)
    act(acc, "reengage", "c2", "sms", "reactivate", cost=1.0)
    act(acc, "email-cadence", "c3", "email", "nurture")
    clock.advance(3 * D)
    act(acc, "email-cadence", "c1", "email", "nurture", cost=0.5)
    act(acc, "email-cadence", "c2", "email", "nurture", status="failed")
    clock.advance(3600)
    stopped = act(acc, "upsell", "c1", "email", "upsell")
    acc.record_event("c3", "ticket_opened")
    deferred = [act(acc, "support", "c3", "email", "winback")]
    clock.advance(60)
    deferred.append(act(acc, "email-cadence", "c3", "email", "nurture"))
    acc.record_event("c5", "stage_changed", data={"stage": "renewal"})
    flagged = act(acc, "upsell", "c5", "email", "upsell")
    clock.advance(D)
    acc.record_event("c2", "purchase", data={"value": 100})
    clock.advance(D)
    acc.record_event("c1", "purchase", data={"value": 100})
    acc.record_event("c4", "purchase", data={"value": 100})
    clock.advance(D)
    late = act(acc, "reengage", "c2", "sms", "reactivate")
    outcomes = [stopped.outcome, *(d.outcome for d in deferred), flagged.outcome, late.outcome]
    assert [o.value for o in outcomes] == ["stop", "defer", "defer", "flag", "stop"], outcomes
    return {"start": start, "flagged": flagged}


def shape(acc: Accord, **kw: Any) -> list[tuple[str, bool, float, list[tuple[str, str, str]]]]:
    return [(j.customer, j.converted, j.value, [(t.agent, t.outcome, t.status) for t in j.touches])
            for j in from_accord(acc, **kw)]


def test_journeys_hold_executed_touches_and_every_stopped_deferred_or_flagged_proposal(
        any_acc: Accord, clock: Any) -> None:
    scripted_fleet(any_acc, clock)
    assert shape(any_acc) == [
        ("c1", True, 100.0, [("churn-guard", "go", "executed"), ("email-cadence", "go", "executed"),
                             ("upsell", "stop", "stop")]),
        ("c2", True, 100.0, [("reengage", "go", "executed"), ("email-cadence", "go", "failed")]),
        ("c2", False, 0.0, [("reengage", "stop", "stop")]),
        ("c3", False, 0.0, [("email-cadence", "go", "executed"), ("support", "defer", "defer"),
                            ("email-cadence", "defer", "defer")]),
        ("c4", True, 100.0, []),
        ("c5", False, 0.0, [("upsell", "flag", "flag")]),
    ]


def test_linear_splits_each_purchase_among_its_executed_touches_and_stopped_ones_get_nothing(
        any_acc: Accord, clock: Any) -> None:
    scripted_fleet(any_acc, clock)
    (linear,) = build_report(any_acc, models=["linear"]).results
    assert linear.credit == pytest.approx({"churn-guard": 50.0, "email-cadence": 50.0,
                                           "reengage": 100.0, "support": 0.0, "upsell": 0.0})
    assert (linear.total_value, linear.unattributed, linear.conversions) == (300.0, 100.0, 3)


def test_first_and_last_touch_credit_the_ends_of_the_delivered_path(acc: Accord,
                                                                    clock: Any) -> None:
    scripted_fleet(acc, clock)
    first, last = build_report(acc, models=["first_touch", "last_touch"]).results
    assert {k: v for k, v in first.credit.items() if v} == {"churn-guard": 100.0,
                                                             "reengage": 100.0}
    assert {k: v for k, v in last.credit.items() if v} == {"email-cadence": 100.0,
                                                            "reengage": 100.0}


def test_a_shorter_lookback_leaves_older_touches_out_of_the_conversion(acc: Accord,
                                                                         clock: Any) -> None:
    scripted_fleet(acc, clock)
    c1 = [j for j in from_accord(acc, lookback_s=2.5 * D) if j.customer == "c1"]
    assert [(j.converted, [t.agent for t in j.touches]) for j in c1] == [
        (False, ["churn-guard"]), (True, ["email-cadence", "upsell"])]
    (linear,) = build_report(acc, models=["linear"], lookback_s=2.5 * D).results
    assert linear.credit["email-cadence"] == pytest.approx(100.0)
    assert linear.credit["churn-guard"] == 0.0


def test_the_report_counts_what_was_not_delivered_by_agent_and_reason(acc: Accord,
                                                                      clock: Any) -> None:
    scripted_fleet(acc, clock)
    report = attribution_report(acc, models=["linear"], by="agent", lookback_s=30 * D)
    assert report["not_delivered"] == {
        "email-cadence": {"defer": 1, "failed": 1},
        "reengage": {"stop": 1},
        "support": {"defer": 1},
        "upsell": {"flag": 1, "stop": 1},
    }
    assert (report["customers"], report["journeys"]) == (5, 6)


def test_an_approved_flag_counts_once_as_its_follow_up_go(acc: Accord, clock: Any) -> None:
    flagged = scripted_fleet(acc, clock)["flagged"]
    follow_up = acc.approve(flagged.id, reviewer="alice")
    assert follow_up.outcome.value == "go"
    c5 = [j for j in from_accord(acc) if j.customer == "c5"]
    assert [[(t.agent, t.outcome, t.status) for t in j.touches] for j in c5] == [
        [("upsell", "go", "pending")]]


def test_channel_attribution_and_spend_come_from_the_proposals_of_go_touches(
        acc: Accord, clock: Any) -> None:
    scripted_fleet(acc, clock)
    report = build_report(acc, models=["linear"], by="channel", budget=100.0)
    assert report.results[0].credit == pytest.approx({"email": 100.0, "sms": 100.0})
    assert report.budget is not None and report.allocation is not None
    assert {r.key: r.spend for r in report.budget.rows} == pytest.approx(
        {"email": 2.5, "sms": 1.0})
    assert sum(report.allocation.spend.values()) == pytest.approx(100.0)


def test_a_purchase_without_a_numeric_value_counts_as_zero_and_says_so(acc: Accord) -> None:
    acc.propose("churn-guard", "c9", channel="email", intent="retain")
    acc.record_event("c9", "purchase", data={"value": "lots"})
    report = attribution_report(acc, models=["linear"], by="agent", lookback_s=30 * D)
    assert report["results"][0]["total_value"] == 0.0
    assert any("c9/" in w and "data.value" in w for w in report["warnings"])


def test_paging_reads_every_customer_once_whatever_the_page_size(acc: Accord,
                                                                 clock: Any) -> None:
    scripted_fleet(acc, clock)
    seen: list[int] = []
    stats = ReadStats()
    small = [(j.customer, j.end) for j in from_accord(acc, page_size=2, progress=seen.append,
                                                      stats=stats)]
    assert small == [(j.customer, j.end) for j in from_accord(acc)]
    assert seen == [3, 5, 6] and (stats.customers, stats.journeys) == (5, 6)


@pytest.mark.parametrize(("kw", "where"), [
    ({"models": ["magic"]}, "model"),
    ({"by": "team"}, "by"),
    ({"budget": -5.0}, "budget"),
    ({"lookback_s": 0.0}, "lookback_s"),
])
def test_the_report_refuses_bad_parameters_naming_the_parameter(
        acc: Accord, kw: dict[str, Any], where: str) -> None:
    args: dict[str, Any] = {"models": ["linear"], "by": "agent", "lookback_s": D} | kw
    with pytest.raises(InvalidInput) as info:
        attribution_report(acc, **args)
    assert info.value.where == where and 400 <= info.value.to_problem()["status"] < 500


SAME_INSTANT_POLICY = """\
version: 1
channels: [email, sms]
agents:
  - {id: first, owner: team-a, mandate: {intents: [nurture], channels: [email, sms]}}
  - {id: second, owner: team-b, mandate: {intents: [nurture], channels: [email, sms]}}
"""


def test_touches_at_the_same_instant_are_credited_in_proposal_order_as_the_pure_api_does(
        store_url: str, clock: Any) -> None:
    from accord.attribution import CustomerEvent, TouchRecord, attribute, build_journeys
    from accord.policy import Policy

    customers = [f"c{i:03d}" for i in range(200)]
    records, events = [], []
    with Accord.open(store_url, policy=Policy.from_text(SAME_INSTANT_POLICY),
                     clock=clock) as acc:
        at = clock.now + 60
        for c in customers:
            for agent in ("first", "second"):  # the same instant, proposed in this order
                act(acc, agent, c, "email", "nurture", at=at)
                records.append(TouchRecord(c, agent, "email", at, "go", "executed", "nurture"))
            clock.advance(1)
            acc.record_event(c, "purchase", at=at + 3600, data={"value": 10})
            events.append(CustomerEvent(c, at + 3600, "purchase", 10.0))
        stored = attribute(from_accord(acc), model="last_touch")
    pure = attribute(build_journeys(records, events), model="last_touch")
    assert pure.credit == {"first": 0.0, "second": 2000.0}
    assert stored.credit == pure.credit
