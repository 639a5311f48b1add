"""Replay the ledger through a fresh store under a policy: "what would have changed?".

Every input that shaped a decision is in the ledger (proposals with their time, events, context
writes, claims, approvals, outcome reports), so feeding them in order to a throwaway store
re-decides history. Under the same policy the decisions come out the same; under a new one, the
difference is the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from accord._errors import AccordError
from accord._time import ManualClock
from accord.model import LedgerEntry, Proposal
from accord.policy import Policy


@dataclass
class Change:
    decision_id: str
    agent: str
    customer: str
    before: str
    after: str
    rules_before: list[str]
    rules_after: list[str]


@dataclass
class ReplayReport:
    decisions: int = 0
    changed: list[Change] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"decisions": self.decisions, "changed": [c.__dict__ for c in self.changed],
                "skipped": self.skipped}


def replay(entries: Iterable[LedgerEntry], policy: Policy, *,
           progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Re-decide ``entries`` (in ledger order) under ``policy`` in an in-memory store."""
    from accord.service import Accord

    clock = ManualClock()
    acc = Accord.open(":memory:", policy=policy, clock=clock)
    report = ReplayReport()
    try:
        for n, e in enumerate(entries, 1):
            clock.now = e.at.timestamp()
            if progress and n % 1000 == 0:
                progress(n)
            try:
                _apply(acc, e, report)
            except AccordError as exc:
                report.skipped.append(f"entry {e.seq} ({e.kind}): {exc.message}")
    finally:
        acc.close()
    return report


def _apply(acc: Any, e: LedgerEntry, report: ReplayReport) -> None:
    b = e.body
    if e.kind == "decision":
        if b.get("parent_decision"):
            return  # produced by the approval entry that precedes it
        p = Proposal.model_validate({**b["proposal"], "at": b["at"]})
        d = acc.submit(p, decision_id=e.ref)
        report.decisions += 1
        before_rules = sorted({r["rule"] for r in b["reasons"]})
        after_rules = sorted({r.rule for r in d.reasons})
        if d.outcome.value != b["outcome"] or before_rules != after_rules:
            report.changed.append(Change(e.ref or "", p.agent, p.customer, b["outcome"],
                                         d.outcome.value, before_rules, after_rules))
    elif e.kind == "event":
        acc.record_event(e.chain, b["type"], at=b["at"], data=b["data"], source=e.agent,
                         event_id=e.ref, check_grant=False)  # a recorded fact, re-recorded
    elif e.kind == "outcome":
        try:
            acc.report_outcome(b["touch_id"], b["status"], detail=b.get("detail"))
        except AccordError:
            report.skipped.append(f"entry {e.seq}: touch {b['touch_id']} is not pending in "
                                  "the replay")
    elif e.kind == "context":
        current = acc.context(e.chain).version
        acc.update_context(e.chain, b["changes"], expected_version=current, actor=b.get("by"))
    elif e.kind == "claim":
        acc.claim(e.agent, e.chain, b["purpose"], b["until"])
    elif e.kind == "release":
        acc.release(e.agent, e.chain)
    elif e.kind == "seat":
        _seat(acc, e, report)
    elif e.kind == "approval":
        try:
            acc._review(e.ref, b["reviewer"], b["verdict"] == "approved", b.get("note"),
                        new_id_=b.get("decision_id"))
        except AccordError:
            report.skipped.append(f"entry {e.seq}: decision {e.ref} is not flagged in the "
                                  "replay, so its approval does not apply")
            return
        follow = acc.decision(b["decision_id"]) if b.get("decision_id") else None
        if follow is not None:
            report.decisions += 1


def _seat(acc: Any, e: LedgerEntry, report: ReplayReport) -> None:
    """A seat's registry change, replayed where it happened: a proposal made while its seat was
    paused or retired is stopped in the replay too, whatever the file under replay declares."""
    b, seat, by = e.body, e.ref or e.agent or "", str(e.body.get("by") or "replay")
    try:
        match b.get("action"):
            case "register":
                acc.register_seat(b["spec"], by=by)
            case "update":
                acc.update_seat(seat, b["changes"], by=by)
            case "pause":
                acc.pause_seat(seat, by=by, reason=b.get("reason") or "paused")
            case "resume":
                acc.resume_seat(seat, by=by)
            case "retire":
                acc.retire_seat(seat, by=by)
    except AccordError as exc:
        report.skipped.append(f"entry {e.seq} (seat {b.get('action')} {seat}): {exc.message}")


