"""What the pages read that the service has no method for: the newest decisions, when each seat
last acted, which protocol it speaks, a customer's chain of the ledger. Reads only, each one query
on an index (``ledger`` by seq or by (chain, chain_seq)) except the per-seat summaries, which
aggregate once per page view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from accord.ledger import _personal as personal
from accord.store import _interfaces as interface_rows
from accord.store import _outbox as outbox_rows
from accord.store import _views as views
from accord.store._decisions import DecisionFilter, decision_page, touch_statuses

if TYPE_CHECKING:
    from accord.model import LedgerEntry
    from accord.service import Accord

PAGE = 50
"""Decisions on one page of ``/ui/decisions``."""

ACTING = ("decision", "outcome", "handoff", "handoff_ack", "context", "claim")
"""Ledger kinds that count as a seat acting (what the fleet page's "last acted" shows)."""


@dataclass
class Entry:
    """One ledger entry as the pages use it."""

    seq: int
    kind: str
    at: float
    customer: str | None
    agent: str | None
    ref: str | None
    parent_id: str | None
    body: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Entry:
        return cls(int(r["seq"]), r["kind"], float(r["at"]), r["customer"], r["agent"],
                   r["ref"], r["parent_id"], json.loads(r["body"]), r.get("trace_id"))

    @classmethod
    def from_ledger(cls, e: LedgerEntry) -> Entry:
        return cls(e.seq, e.kind, e.at.timestamp(), e.customer, e.agent, e.ref, e.parent_id,
                   e.body, e.trace_id)


def decisions(service: Accord, f: DecisionFilter, *, limit: int = PAGE
              ) -> tuple[list[Entry], dict[str, str], bool]:
    """One page of decisions that match ``f``, newest first; where their touches stand now;
    and whether an older page exists."""
    with service.store.read() as tx:
        rows = decision_page(tx, f, limit=limit + 1)
        entries = [Entry.from_row(r) for r in rows[:limit]]
        touches = touch_statuses(tx, [t for e in entries if (t := e.body.get("touch_id"))])
    return entries, touches, len(rows) > limit


def last_acted(service: Accord) -> dict[str, float]:
    with service.store.read() as tx:
        return views.last_acted(tx, ACTING)


def protocols(service: Accord) -> dict[str, list[str]]:
    """Protocols each agent has been seen on (the API records them in ``interfaces``)."""
    out: dict[str, list[str]] = {}
    with service.store.read() as tx:
        for r in interface_rows.every(tx):
            out.setdefault(r["agent"], []).append(r["protocol"])
    return out


def timeline(service: Accord, customer: str, *, limit: int = 500) -> list[Entry]:
    """The customer's own chain, in order: decisions, events, revocations, approvals, handoffs,
    outcomes, claims, context writes."""
    with service.store.read() as tx:
        rows = views.chain(tx, customer, limit)
        personal.reveal(tx, rows, customer)
    return [Entry.from_row(r) for r in rows]


def approval_states(service: Accord, decision_ids: list[str]) -> dict[str, str]:
    """Where each flagged decision stands now (pending, approved, rejected)."""
    if not decision_ids:
        return {}
    with service.store.read() as tx:
        return views.approvals(tx, decision_ids)


def touch_states(service: Accord, customer: str) -> dict[str, str]:
    """Where each of the customer's touches stands now (pending, executed, revoked …)."""
    with service.store.read() as tx:
        return views.touches_of(tx, customer)


def touch_states_of(service: Accord, touch_ids: list[str]) -> dict[str, str]:
    """Where each of these touches stands now."""
    with service.store.read() as tx:
        return touch_statuses(tx, touch_ids)


OUTBOX_STATUSES = outbox_rows.STATUSES
"""What a delivery can be: queued, sending, sent, failed, dead, cancelled."""


def outbox(service: Accord, *, agent: str | None, status: str | None,
           limit: int = PAGE) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The outbox page: counts by channel, sender and status (an agent: its own), and the
    newest deliveries."""
    with service.store.read() as tx:
        counts = outbox_rows.counts(tx, agent=agent)
        items = outbox_rows.newest(tx, agent=agent, status=status, limit=limit)
    return counts, items


def deliveries(service: Accord, customer: str,
               agent: str | None) -> list[dict[str, Any]]:
    """What was delivered to one customer, newest first (an agent: its own)."""
    with service.store.read() as tx:
        return outbox_rows.newest(tx, agent=agent, status=None, limit=PAGE, customer=customer)
