"""The gate decides exactly as it did before its speed work (issue 12): the same outcome, the
same reasons in the same order with the same fields, the same retry, amend, shadow, pre-emptions
and incidents — over random policies, histories, contexts and proposals (Hypothesis).

The reference (``tests/gate/_reference.py``) is the gate as it was, kept only here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.bench import bench_policy
from accord.gate import (
    ClaimView,
    CommitmentView,
    Snapshot,
    TouchView,
    Verdict,
    cel_fields,
    evaluate,
)
from accord.model import Proposal
from accord.policy import Policy
from tests.conftest import EXAMPLE_POLICY, T0
from tests.gate import _reference

HOUR = 3600.0

WINDOWS = """
version: 1
channels: [email, sms, voice, in_app]
outbound_exempt_intents: [support]
agents:
  - {id: a1, owner: o, team: sales, mandate: {intents: [retain, upsell, nurture, support],
     channels: [email, sms, voice, in_app]}, authority: {max_discount_pct: 10},
     budget: {daily_usd: 5}}
  - {id: a2, owner: o, team: marketing, mandate: {intents: [retain, upsell, nurture],
     channels: [email, sms]}}
  - {id: a3, owner: o, mandate: {intents: [upsell, nurture, support], channels: [sms, voice]}}
precedence: [a1, a2]
caps:
  - {id: zero-voice, limit: 0, per: 1h, channels: [voice]}
  - {id: two-a-day, limit: 2, per: 24h, exempt_intents: [support]}
  - {id: upsell-week, limit: 3, per: 7d, intents: [upsell, nurture], effect: stop}
  - {id: sms-one, limit: 1, per: 12h, channels: [sms], effect: flag}
  - {id: trial, limit: 1, per: 6h, mode: shadow}
spacing:
  - {id: gap-any, min_gap: 2h, between: any, channels: [email, sms]}
  - {id: gap-same, min_gap: 5h, between: same_agent, effect: stop, exempt_intents: [nurture]}
  - {id: gap-diff, min_gap: 30h, mode: shadow}
conflicts:
  - {id: mixed, intents: [retain, upsell, nurture], within: 3d}
quiet_hours:
  - {start: "21:00", end: "08:00", channels: [sms], tz_field: tz, default_tz: Europe/Paris}
commitments: {on_contradiction: flag, own_offer: OWN}
traces: {max_cost_usd: 1, max_depth: 3}
settings: {touch_lease: 6h, commit_horizon: 30m}
rules:
  - {id: opted, effect: stop, when: "has(customer.opt_outs) && action.channel in customer.opt_outs"}
  - {id: recent-sales, effect: defer, intents: [upsell],
     when: "touches.exists(t, t.team == 'sales' && now - t.at < duration('3h'))",
     until: "now + duration('3h')"}
  - {id: late, effect: defer, when: "now.getHours() >= 20", until: "now + duration('2h')"}
  - {id: odd, effect: defer, channels: [voice], when: "customer.score > 3"}
  - {id: broken, effect: flag, on_error: ignore, when: "customer.nope == 1"}
  - {id: fails, effect: stop, intents: [nurture], when: "customer.nope == 1"}
  - {id: watch, effect: stop, mode: shadow, when: "action.intent == 'upsell'"}
  - {id: cel-only, effect: flag, channels: [in_app], when: "customer.score * 2 > 7"}
  - {id: high-score-quiet, effect: stop, channels: [sms, voice], when: "customer.score > 4"}
"""

POLICIES = [Policy.load(EXAMPLE_POLICY), bench_policy()] + [
    Policy.from_text(WINDOWS.replace("OWN", own), source="windows.yaml")
    for own in ("honour", "update", "stop")]
AGENTS = ["a1", "a2", "a3", "churn-guard", "upsell", "email-cadence", "reengage", "support",
          "scheduler", "nobody"]
INTENTS = ["retain", "upsell", "nurture", "support", "reactivate", "winback", "schedule"]
CHANNELS = ["email", "sms", "voice", "in_app"]

touch_st = st.builds(
    lambda agent, channel, intent, hours, status: (agent, channel, intent, T0 + hours * HOUR,
                                                   status),
    st.sampled_from(AGENTS[:-1]), st.sampled_from(CHANNELS), st.sampled_from(INTENTS),
    st.integers(-24 * 8, 24 * 8) | st.floats(-30, 30).map(lambda h: round(h, 2)),
    st.sampled_from(["executed", "pending", "pending", "cancelled", "revoked"]))
context_st = st.fixed_dictionaries({}, optional={
    "opt_outs": st.lists(st.sampled_from([*CHANNELS, "all"]), max_size=2),
    "stage": st.sampled_from(["renewal", "churned", "active"]),
    "tier": st.sampled_from(["vip", "gold"]), "lead_score": st.integers(0, 100),
    "score": st.integers(0, 6) | st.just("x"), "tz": st.sampled_from(["America/New_York", "x"]),
    "last_ticket_at": st.integers(-72, 2).map(lambda h: T0 + h * HOUR),
    "last_purchase_at": st.integers(-24 * 40, 0).map(lambda h: T0 + h * HOUR),
    "churn_risk": st.floats(0, 1), "region": st.sampled_from(["eu", "us"])})


@st.composite
def case_st(draw: Any) -> tuple[Policy, Proposal, float, Snapshot, dict[str, Any]]:
    policy = draw(st.sampled_from(POLICIES))
    raw = draw(st.lists(touch_st, max_size=12))
    touches = sorted((TouchView(f"t{i}", *t[:4], t[4], i) for i, t in enumerate(raw)),
                     key=lambda t: t.at)
    claims = [ClaimView(f"cl{i}", a, "watch", T0 + h * HOUR) for i, (a, h) in enumerate(draw(
        st.lists(st.tuples(st.sampled_from(AGENTS[:-1]), st.integers(-2, 6)), max_size=2)))]
    commitments = [CommitmentView(f"cm{i}", a, "pro", {"product": "pro", "discount_pct": d},
                                  T0 + h * HOUR, f"d{i}")
                   for i, (a, d, h) in enumerate(draw(st.lists(st.tuples(
                       st.sampled_from(AGENTS[:-1]), st.sampled_from([5, 10, 20]),
                       st.integers(-2, 48)), max_size=2)))]
    snap = Snapshot("c", cel_fields(draw(context_st)), 1, touches, claims, commitments,
                    agent_spend_usd=draw(st.sampled_from([0.0, 0.0, 0.0, 4.99, 300.0])),
                    trace_cost_usd=draw(st.sampled_from([0.0, 0.0, 0.9])),
                    trace_count=draw(st.sampled_from([0, 0, 3])))
    agent = draw(st.sampled_from([*sorted(policy.agents), "nobody"]))
    seat = policy.agents.get(agent)
    mandate = seat.mandate if seat is not None else None
    intents = mandate.intents if mandate and mandate.intents else INTENTS
    channels = mandate.channels if mandate and mandate.channels else CHANNELS
    discount = draw(st.none() | st.sampled_from([5, 10, 12, 20, 30]))
    p = Proposal(agent=agent, customer="c",
                 channel=draw(st.sampled_from(channels) | st.sampled_from(CHANNELS)),
                 intent=draw(st.sampled_from(intents) | st.sampled_from(INTENTS)),
                 offer={"product": "pro", "discount_pct": discount} if discount else None,
                 cost={"usd": draw(st.sampled_from([0.0, 0.0, 0.5, 2.0]))},
                 reversible=draw(st.sampled_from([True, True, True, False])),
                 trace_id=draw(st.none() | st.just("tr")),
                 accept=draw(st.none() | st.lists(st.sampled_from(["offer", "channel", "time"]),
                                                  unique=True, min_size=1)))
    at = T0 + draw(st.integers(-6, 30)) * 1800.0
    pending = [t.id for t in touches if t.status == "pending"]
    kw = {"context_only": draw(st.sampled_from([False, False, False, True])),
          "approval": draw(st.sampled_from([None, None, None, "approved by rev"])),
          "hold": draw(st.lists(st.sampled_from(pending), unique=True)) if pending else (),
          "now": draw(st.none() | st.integers(-4, 2).map(lambda h: at + h * 600.0))}
    return policy, p, at, snap, kw


def facts(v: Verdict | None) -> Any:
    """Everything a verdict says, reasons as full models (fields and types included)."""
    if v is None:
        return None
    return (v.outcome, [(type(r), r.model_dump()) for r in v.reasons], v.retry_at, v.amend,
            [(type(r), r.model_dump()) for r in v.shadow], v.preempt, v.incidents, v.applied,
            None if v.proposal is None else v.proposal.model_dump(), facts(v.asked))


@settings(max_examples=800, deadline=None)
@given(case=case_st())
def test_the_gate_decides_exactly_as_the_reference(
        case: tuple[Policy, Proposal, float, Snapshot, dict[str, Any]]) -> None:
    policy, p, at, snap, kw = case
    expected = _reference.evaluate(p, at, dataclasses.replace(snap), policy, **kw)
    got = evaluate(p, at, snap, policy, **kw)
    assert facts(got) == facts(expected)
    again = evaluate(p, at, snap, policy, **kw)  # a second look at the same snapshot
    assert facts(again) == facts(expected)


@settings(max_examples=60, deadline=None)
@given(n=st.sampled_from([30, 200, 1_200]), seed=st.integers(0, 10**6),
       who=st.sampled_from([("a1", "upsell", "email"), ("a2", "nurture", "sms"),
                            ("a3", "support", "voice"), ("churn-guard", "retain", "email"),
                            ("support", "winback", "email"), ("upsell", "upsell", "voice")]),
       policy=st.sampled_from(POLICIES))
def test_busy_customers_are_decided_exactly_as_the_reference(
        n: int, seed: int, who: tuple[str, str, str], policy: Policy) -> None:
    """Many touches (past the 1,000 conditions see): the windows, retries and conditions."""
    import random

    rnd = random.Random(seed)
    touches = sorted((TouchView(f"t{i}", rnd.choice(AGENTS[:-1]), rnd.choice(CHANNELS),
                                rnd.choice(INTENTS), T0 + rnd.uniform(-7, 7) * 86400,
                                rnd.choice(["executed", "pending", "revoked"]), i)
                      for i in range(n)), key=lambda t: t.at)
    snap = Snapshot("c", {}, 1, touches)
    p = Proposal(agent=who[0], customer="c", intent=who[1], channel=who[2])
    expected = _reference.evaluate(p, T0, dataclasses.replace(snap), policy)
    assert facts(evaluate(p, T0, snap, policy)) == facts(expected)
