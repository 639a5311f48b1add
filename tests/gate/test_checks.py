"""Each check of ``gate.evaluate``, called directly: one table, a row that holds and a row that
lets the proposal through, under the example policy (plus quiet hours where they apply)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from accord.gate import ClaimView, CommitmentView, Snapshot, TouchView, evaluate
from accord.model import Outcome, Proposal
from accord.policy import Policy
from tests.conftest import EXAMPLE_POLICY, T0

HOUR, DAY = 3600.0, 86400.0
POLICY = Policy.load(EXAMPLE_POLICY)
QUIET = Policy.from_text(EXAMPLE_POLICY.read_text() + """
quiet_hours:
  - {id: tcpa-quiet, channels: [sms, voice], start: "21:00", end: "08:00",
     default_tz: America/New_York}
""", source="quiet.yaml")  # T0 is 09:00 UTC: 04:00 in New York


def touch(agent: str, channel: str, intent: str, hours_ago: float) -> TouchView:
    return TouchView(f"t-{agent}-{hours_ago}", agent, channel, intent, T0 - hours_ago * HOUR,
                     "executed")


@dataclass
class Row:
    check: str
    proposal: dict[str, Any]
    outcome: Outcome
    rule: str | None = None  # the rule that must be among the reasons (None: no reasons)
    snapshot: dict[str, Any] = field(default_factory=dict)
    policy: Policy = POLICY


UPSELL = {"agent": "upsell", "channel": "email", "intent": "upsell"}
NURTURE = {"agent": "email-cadence", "channel": "email", "intent": "nurture"}
REENGAGE_SMS = {"agent": "reengage", "channel": "sms", "intent": "reactivate"}
PRO = {"product": "pro", "discount_pct": 10}
HELD_PRO = CommitmentView("k1", "churn-guard", "pro", {"product": "pro", "discount_pct": 15},
                          T0 + DAY, "d1")

ROWS = [
    Row("mandate", {**NURTURE, "channel": "sms"}, Outcome.STOP, "mandate"),
    Row("mandate", NURTURE, Outcome.GO),
    Row("authority", {**UPSELL, "offer": {"product": "pro", "discount_pct": 20}}, Outcome.FLAG,
        "authority"),
    Row("authority", {**UPSELL, "offer": PRO}, Outcome.GO),
    Row("commitments", {**UPSELL, "offer": PRO}, Outcome.STOP, "commitment",
        {"commitments": [HELD_PRO]}),
    Row("commitments", {**UPSELL, "offer": PRO}, Outcome.GO, None,
        {"commitments": [CommitmentView("k1", "churn-guard", "pro", {"discount_pct": 15},
                                        T0 - 1, "d1")]}),
    Row("budgets", {**UPSELL, "cost": {"usd": 5}}, Outcome.STOP, "budget",
        {"agent_spend_usd": 199.0}),
    Row("budgets", {**UPSELL, "cost": {"usd": 5}}, Outcome.GO, None, {"agent_spend_usd": 100.0}),
    Row("budgets", {**UPSELL, "trace_id": "tr"}, Outcome.STOP, "trace-ceiling",
        {"trace_count": 20}),
    Row("claims", UPSELL, Outcome.DEFER, "claim",
        {"claims": [ClaimView("c1", "churn-guard", "save", T0 + HOUR)]}),
    Row("claims", UPSELL, Outcome.GO, None,
        {"claims": [ClaimView("c1", "reengage", "winback", T0 + HOUR)]}),
    Row("caps", NURTURE, Outcome.DEFER, "daily-cap",
        {"touches": [touch("email-cadence", "email", "nurture", 1)]}),
    Row("caps", NURTURE, Outcome.GO, None,
        {"touches": [touch("email-cadence", "email", "nurture", 25)]}),
    Row("spacing", UPSELL, Outcome.DEFER, "agent-gap",
        {"touches": [touch("email-cadence", "email", "nurture", 30)]}),
    Row("spacing", UPSELL, Outcome.GO, None,
        {"touches": [touch("email-cadence", "email", "nurture", 50)]}),
    Row("conflicts", UPSELL, Outcome.STOP, "mixed-signals",
        {"touches": [touch("churn-guard", "email", "retain", 72)]}),
    Row("conflicts", UPSELL, Outcome.GO, None,
        {"touches": [touch("churn-guard", "email", "retain", 8 * 24)]}),
    Row("conditions", UPSELL, Outcome.STOP, "opted-out", {"context": {"opt_outs": ["email"]}}),
    Row("conditions", UPSELL, Outcome.FLAG, "renewal-needs-human",
        {"context": {"stage": "renewal"}}),
    Row("conditions", UPSELL, Outcome.DEFER, "open-ticket-pause",
        {"context": {"last_ticket_at": T0 - HOUR}}),
    Row("conditions", UPSELL, Outcome.GO, None, {"context": {"opt_outs": ["sms"]}}),
    Row("quiet hours", REENGAGE_SMS, Outcome.DEFER, "tcpa-quiet", policy=QUIET),
    Row("quiet hours", {**REENGAGE_SMS, "channel": "email"}, Outcome.GO, None, policy=QUIET),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.check}-{r.outcome.value}-{r.rule or 'none'}"
                                           for r in ROWS])
def test_each_check_holds_what_it_names_and_lets_the_rest_through(row: Row) -> None:
    p = Proposal(customer="c", **row.proposal)
    v = evaluate(p, T0, Snapshot("c", **row.snapshot), row.policy)
    rules = [r.rule for r in v.reasons if r.effect is not Outcome.GO]
    assert v.outcome is row.outcome, rules
    if row.rule is None:
        assert rules == []
    else:
        assert row.rule in rules
    if v.outcome is Outcome.DEFER:
        assert v.retry_at is not None and v.retry_at > T0
