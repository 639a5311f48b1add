"""A small fleet day, made through the service's public methods, for the pages to show."""

from __future__ import annotations

from dataclasses import dataclass

from accord import Accord


@dataclass
class Day:
    revoked_touch: str
    """churn-guard's pending touch on c-ada, revoked by her email opt-out."""
    flagged: str
    """upsell's 20 % offer to c-ben, waiting for a reviewer."""


def fleet_day(acc: Accord) -> Day:
    retain = acc.propose("churn-guard", "c-ada", channel="email", intent="retain",
                         topic="we miss you")
    acc.propose("upsell", "c-ada", channel="email", intent="upsell",
                offer={"product": "pro", "discount_pct": 10})
    acc.record_event("c-ada", "opt_out", data={"channel": "email"}, source="preference-center")
    flagged = acc.propose("upsell", "c-ben", channel="email", intent="upsell",
                          offer={"product": "pro", "discount_pct": 20})
    acc.record_event("c-cy", "stage_changed", data={"stage": "renewal"})
    acc.propose("upsell", "c-cy", channel="voice", intent="upsell")
    acc.record_event("c-eve", "ticket_opened", data={"ticket": "T-1"})
    acc.propose("email-cadence", "c-eve", channel="email", intent="nurture")
    for customer, agent, channel, intent, value in (
            ("c-dee", "reengage", "sms", "reactivate", 120.0),
            ("c-fay", "churn-guard", "email", "retain", 300.0),
            ("c-gus", "upsell", "email", "upsell", 500.0),
            ("c-hal", "email-cadence", "email", "nurture", 80.0)):
        d = acc.propose(agent, customer, channel=channel, intent=intent)
        assert d.touch_id is not None, d.reasons
        acc.report_outcome(d.touch_id, "executed")
        acc.record_event(customer, "purchase", data={"value": value})
    acc.propose("reengage", "c-dee", channel="email", intent="reactivate")
    acc.propose("reengage", "c-gus", channel="email", intent="reactivate")
    acc.propose("upsell", "c-fay", channel="email", intent="upsell")
    ctx = acc.context("c-gus")
    acc.update_context("c-gus", {"lead_score": 87, "segment": "expansion"},
                       expected_version=ctx.version, agent="lead-scoring")
    acc.handoff("lead-scoring", "upsell", "scored-lead", {"score": 87, "reason": "usage up"},
                customer="c-gus")
    assert retain.touch_id is not None
    return Day(revoked_touch=retain.touch_id, flagged=flagged.id)
