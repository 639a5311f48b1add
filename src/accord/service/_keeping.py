"""Kept proposals (``on_defer: reschedule``): how a defer becomes a scheduled row and how each
re-decision moves it on, in the transaction of the decision concerned. The service decides;
these functions keep the row, its ledger entries and its messages in step with it."""

from __future__ import annotations

from typing import Any

import orjson

from accord import ledger
from accord.model import Decision, Outcome, Proposal, Scheduled, ScheduledStatus
from accord.store import _scheduled as rows
from accord.store._base import CustomerRow, Tx
from accord.store.bus import Message

APPROVAL_HOLD = 7 * 86400.0
"""How long Accord keeps an approved proposal whose re-check deferred it, when the proposal
named no deadline of its own: a human's approval is not dropped by a defer."""


def keep(tx: Tx, row: CustomerRow, sid: str, d: Decision, approval: str | None,
         now: float, published: list[Message]) -> None:
    """A defer becomes a kept proposal, re-decided at its ``retry_at``."""
    p = d.proposal
    at = d.at.timestamp() if d.at else now
    deadline = p.deadline_at(at)
    if deadline is None:  # an approved proposal that named none
        deadline = at + APPROVAL_HOLD
    due = d.retry_at.timestamp() if d.retry_at else None
    rows.create(tx, row.id, sid, p.agent, due_at=due if due is not None else at,
                deadline=deadline, proposal=p.model_copy(update={"at": None})
                .model_dump_json(), approval=approval, decision_id=d.id, now=now)
    if due is None or due > deadline:
        r = rows.get(tx, row.id, sid)
        assert r is not None
        end(tx, row, r, "lapsed", "the defer clears only after its deadline"
            if due else "the defer names no time to retry", now, published)
        return
    ledger.append(tx, row, "schedule", now, agent=p.agent, trace_id=p.trace_id,
                      parent_id=d.id, ref=sid,
                      body={"scheduled_id": sid, "decision_id": d.id, "due_at": due,
                            "deadline": deadline, "approval": approval})


def advance(tx: Tx, row: CustomerRow, r: dict[str, Any], d: Decision, now: float,
            published: list[Message]) -> None:
    """A re-decision moves its row on: kept again until the deadline, or done."""
    due = d.retry_at.timestamp() if d.retry_at else None
    if d.outcome is not Outcome.DEFER:
        rows.advance(tx, r, d.id, d.outcome.value, status="done", due_at=None,
                     note=f"re-decided: {d.outcome.value}", now=now)
    elif due is None or due > r["deadline"]:
        rows.advance(tx, r, d.id, "defer", status="lapsed", due_at=None,
                     note="deferred again past its deadline", now=now)
        ledger.append(tx, row, "lapse", now, agent=r["agent"],
                          trace_id=d.proposal.trace_id, parent_id=d.id, ref=r["id"],
                          body={"scheduled_id": r["id"], "decision_id": d.id,
                                "why": "deferred again past its deadline"})
        _publish(tx, row.id, r["id"], published)
    else:
        rows.advance(tx, r, d.id, "defer", status="waiting", due_at=due, note=None,
                     now=now)
        ledger.append(tx, row, "schedule", now, agent=r["agent"],
                          trace_id=d.proposal.trace_id, parent_id=d.id, ref=r["id"],
                          body={"scheduled_id": r["id"], "decision_id": d.id,
                                "due_at": due, "deadline": r["deadline"]})


def end(tx: Tx, row: CustomerRow, r: dict[str, Any], status: str, why: str, now: float,
        published: list[Message]) -> dict[str, Any]:
    """End a waiting row without a new decision: lapsed or cancelled."""
    rows.end(tx, r, status, why, now)
    chain = orjson.loads(r["decisions"])
    p = Proposal.model_validate_json(r["proposal"])
    ledger.append(tx, row, "lapse" if status == "lapsed" else "cancel", now,
                      agent=r["agent"], trace_id=p.trace_id, parent_id=chain[-1],
                      ref=r["id"], body={"scheduled_id": r["id"], "why": why})
    return _publish(tx, row.id, r["id"], published)


def _publish(tx: Tx, customer: str, sid: str, published: list[Message]) -> dict[str, Any]:
    r = rows.get(tx, customer, sid)
    assert r is not None
    published.append({"kind": "scheduled", "customer": customer, "agents": [r["agent"]],
                      "scheduled": view(r).model_dump(mode="json")})
    return r


def view(r: dict[str, Any]) -> Scheduled:
    return Scheduled(id=r["id"], customer=r["customer"], agent=r["agent"],
                     status=ScheduledStatus(r["status"]), due_at=r["due_at"],
                     deadline=r["deadline"], decisions=orjson.loads(r["decisions"]),
                     outcome=r["outcome"], note=r["note"], created_at=r["created_at"],
                     updated_at=r["updated_at"],
                     proposal=Proposal.model_validate_json(r["proposal"]))
