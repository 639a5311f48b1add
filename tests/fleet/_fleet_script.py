"""A scripted fleet the fleet tests share: five agents on one trace, plus background traffic."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accord import Accord

TRACE = "tr-lead-c1"


@dataclass
class Script:
    trace_id: str = TRACE
    ids: dict[str, Any] = field(default_factory=dict)


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def five_agent_chain(acc: Accord, clock: Any, customer: str = "c1") -> Script:
    """lead-scoring scores and hands off → upsell offers (go) and asks for a meeting →
    email-cadence's nurture is held back (cap, spacing) → scheduler's invite is flagged (renewal),
    approved by a person, executed → support answers in-app."""
    s = Script()
    score_doc = b'{"customer": "c1", "lead_score": 91, "model": "lead-v3"}'
    ctx = acc.context(customer)
    acc.update_context(customer, {"lead_score": 91, "segment": "smb"},
                       expected_version=ctx.version, agent="lead-scoring")
    h1 = acc.handoff("lead-scoring", "upsell", "scored-lead", {"score": 91},
                     customer=customer, trace_id=s.trace_id,
                     artifacts=[{"id": "score/c1/v3", "sha256": sha(score_doc)}])
    s.ids["scored_lead"], s.ids["score_doc"] = h1.id, score_doc
    clock.advance(60)
    acc.inbox("upsell")
    acc.ack_handoff(h1.id, agent="upsell")
    d1 = acc.propose("upsell", customer, channel="email", intent="upsell", cost=1.5,
                     offer={"product": "pro", "discount_pct": 10}, trace_id=s.trace_id,
                     parent_id=h1.id)
    assert d1.go, d1
    s.ids["upsell_decision"] = d1.id
    h2 = acc.handoff("upsell", "scheduler", "meeting-request", {"slot": "tue-10"},
                     customer=customer, trace_id=s.trace_id, parent_id=d1.id)
    s.ids["meeting_request"] = h2.id
    clock.advance(60)
    d2 = acc.propose("email-cadence", customer, channel="email", intent="nurture",
                     trace_id=s.trace_id, parent_id=d1.id)
    assert d2.outcome.value == "defer", d2
    s.ids["held_back"] = d2.id
    acc.record_event(customer, "stage_changed", data={"stage": "renewal"})
    acc.inbox("scheduler")
    acc.ack_handoff(h2.id, agent="scheduler")
    d3 = acc.propose("scheduler", customer, channel="email", intent="schedule", action="invite",
                     trace_id=s.trace_id, parent_id=h2.id)
    assert d3.outcome.value == "flag", d3
    clock.advance(1800)
    d4 = acc.approve(d3.id, reviewer="person:alice", note="renewal call is fine")
    assert d4.go, d4
    s.ids["flagged"], s.ids["approved"] = d3.id, d4.id
    assert d4.touch_id is not None
    acc.report_outcome(d4.touch_id, "executed", agent="scheduler")
    d5 = acc.propose("support", customer, channel="in_app", intent="support",
                     trace_id=s.trace_id, parent_id=d4.id)
    assert d5.go, d5
    s.ids["support"] = d5.id
    return s


def background(acc: Accord, clock: Any) -> None:
    """Other customers: context writes by several writers, an irreversible go, an opt-out."""
    for i in range(2, 6):
        c = f"c{i}"
        v = acc.context(c).version
        acc.update_context(c, {"lead_score": 40 + i}, expected_version=v, agent="lead-scoring")
        v = acc.context(c).version
        acc.update_context(c, {"churn_risk": 0.2 * i}, expected_version=v, agent="churn-guard")
    v = acc.context("c2").version
    acc.update_context("c2", {"lead_score": 99}, expected_version=v, actor="admin:ops")
    acc.record_event("c3", "opt_out", data={"channel": "email"})
    acc.propose("reengage", "c3", channel="email", intent="reactivate")
    acc.propose("churn-guard", "c4", channel="voice", intent="retain", reversible=False)
    clock.advance(60)


EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "src/accord/templates/accord.yaml"


def scripted(acc: Accord, clock: Any) -> Script:
    """The scripted fleet on the shared ``acc`` fixture (SQLite file, hand clock)."""
    script = five_agent_chain(acc, clock)
    background(acc, clock)
    return script
