"""The fleet's rows and queries on both backends (SQLite and a real PostgreSQL)."""

from __future__ import annotations

from typing import Any

from accord import Accord
from accord.fleet import compute_audit, to_otlp

from ._fleet_script import five_agent_chain


def test_seats_handoffs_traces_and_the_audit_work_on_every_backend(
        any_acc: Accord, clock: Any) -> None:
    acc = any_acc
    script = five_agent_chain(acc, clock)
    entries = acc.trace(script.trace_id)
    assert len(to_otlp(entries)["resourceSpans"]) == 5
    held = acc.propose("churn-guard", "c20", channel="email", intent="retain")
    change = acc.pause_seat("churn-guard", by="person:cto", reason="drill")
    assert change.revoked == [held.touch_id]
    assert acc.propose("churn-guard", "c21", channel="email", intent="retain").reasons[0].rule \
        == "seat"
    h = acc.handoff("lead-scoring", "churn-guard", "scored-lead", {"score": 3})
    assert [x.id for x in acc.inbox("churn-guard")] == [h.id]
    report = compute_audit(acc)
    assert report["chains"]["share"] == 1.0 and report["chains"]["ledger_ok"]
    assert {a["id"]: a["status"] for a in report["agents"]}["churn-guard"] == "paused"
    assert [u["id"] for u in report["handoffs"]["unread"]] == []
    assert acc.verify_ledger().ok
