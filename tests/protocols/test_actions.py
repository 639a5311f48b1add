"""What MCP and A2A answer, on both stores: the follow-up after a review, timeline times."""

from __future__ import annotations

from datetime import datetime

from accord import Accord
from accord.protocols import _actions as act


def test_explain_decision_carries_the_follow_up_of_a_reviewed_flag(any_acc: Accord) -> None:
    flagged = act.propose(any_acc, "upsell", "f1", channel="email", intent="upsell",
                          offer={"product": "pro", "discount_pct": 30})
    assert flagged["outcome"] == "flag"
    assert "follow_up" not in act.explain_decision(any_acc, "upsell", flagged["decision_id"])
    any_acc.reject(flagged["decision_id"], reviewer="ops", note="too generous")
    follow = act.explain_decision(any_acc, "upsell", flagged["decision_id"])["follow_up"]
    assert (follow["verdict"], follow["reviewer"], follow["note"]) == (
        "rejected", "ops", "too generous")
    assert follow["decision"]["outcome"] == "stop" and follow["decision"]["touch_id"] is None


def test_timeline_times_are_rfc_3339_on_every_store(any_acc: Accord) -> None:
    any_acc.record_event("r1", "reply")
    any_acc.claim("churn-guard", "r1", "watch", any_acc.clock() + 3600)
    entries = act.timeline(any_acc, "churn-guard", "r1")
    assert [e["kind"] for e in entries] == ["event", "claim"]
    for e in entries:
        assert datetime.fromisoformat(e["at"]).tzinfo is not None
        for key in {"at", "until"} & set(e["body"]):
            assert datetime.fromisoformat(e["body"][key]).tzinfo is not None
