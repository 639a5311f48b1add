"""The dashboard's reads of decisions: a filtered page of them, newest first, and where their
touches stand now. Both backends run these statements as written (``?`` placeholders, LIKE with
an explicit escape).

Paging is by ledger sequence (``before``: the smallest ``seq`` of the previous page), so a page
stays put while decisions keep arriving. Outcome filters join ``decisions`` on its primary key;
a rule filter matches the rule id as the decision's JSON body spells it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accord.store._base import Tx


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """What the decisions page was asked to show; every field is optional."""

    agent: str | None = None
    outcome: str | None = None
    rule: str | None = None
    customer: str | None = None
    since: float | None = None
    until: float | None = None
    before: int | None = None
    """Only decisions older than this ledger sequence (the next page)."""


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def decision_page(tx: Tx, f: DecisionFilter, *, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` decision entries of the ledger that match ``f``, newest first."""
    where: list[str] = ["l.kind = 'decision'"]
    params: list[Any] = []
    join = ""
    for column, value in (("l.agent", f.agent), ("l.customer", f.customer)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if f.outcome is not None:
        join = " JOIN decisions d ON d.customer = l.customer AND d.id = l.ref"
        where.append("d.outcome = ?")
        params.append(f.outcome)
    if f.rule is not None:
        where.append("l.body LIKE ? ESCAPE '\\'")
        params.append(f'%"rule":"{_like(f.rule)}"%')
    for op, instant in ((">=", f.since), ("<", f.until)):
        if instant is not None:
            where.append(f"l.at {op} ?")
            params.append(instant)
    if f.before is not None:
        where.append("l.seq < ?")
        params.append(f.before)
    return tx.rows("SELECT l.seq, l.kind, l.at, l.customer, l.agent, l.ref, l.parent_id, "
                   f"l.trace_id, l.body FROM ledger l{join} WHERE {' AND '.join(where)} "
                   "ORDER BY l.seq DESC LIMIT ?", (*params, limit))


def touch_statuses(tx: Tx, touch_ids: list[str]) -> dict[str, str]:
    """Where each of these touches stands now: pending, executed, failed, cancelled, revoked."""
    if not touch_ids:
        return {}
    marks = ",".join("?" * len(touch_ids))
    rows = tx.rows(f"SELECT id, status FROM touches WHERE id IN ({marks})", tuple(touch_ids))
    return {r["id"]: r["status"] for r in rows}


# -- the service's statements on decisions -----------------------------------------------------

def insert(tx: Tx, customer: str, decision_id: str, agent: str, outcome: str,
           approval: str | None, at: float, trace_id: str | None, idem_key: str | None,
           request_hash: str, body: str) -> None:
    tx.execute("INSERT INTO decisions (customer, id, agent, outcome, approval, at, trace_id, "
               "idem_key, request_hash, body) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (customer, decision_id, agent, outcome, approval, at, trace_id, idem_key,
                request_hash, body))


def by_idempotency_key(tx: Tx, customer: str, agent: str, key: str) -> dict[str, Any] | None:
    """``body, request_hash`` of the agent's decision on ``customer`` under ``key``."""
    return tx.one("SELECT body, request_hash FROM decisions WHERE customer = ? AND agent = ? "
                  "AND idem_key = ?", (customer, agent, key))


def body_of(tx: Tx, decision_id: str) -> str | None:
    r = tx.one("SELECT body FROM decisions WHERE id = ?", (decision_id,))
    return None if r is None else str(r["body"])


def trace_of(tx: Tx, decision_id: str) -> str | None:
    r = tx.one("SELECT trace_id FROM decisions WHERE id = ?", (decision_id,))
    return r["trace_id"] if r is not None and r["trace_id"] else None


def waiting_for_review(tx: Tx) -> list[str]:
    """The bodies of flagged decisions waiting for a human, oldest first."""
    return [r["body"] for r in tx.rows(
        "SELECT body FROM decisions WHERE approval = 'pending' ORDER BY at")]


def approval_of(tx: Tx, customer: str, decision_id: str) -> str | None:
    """The decision's approval state; ``missing`` when there is no such decision."""
    r = tx.one("SELECT approval FROM decisions WHERE customer = ? AND id = ?",
               (customer, decision_id))
    return "missing" if r is None else r["approval"]


def set_approval(tx: Tx, customer: str, decision_id: str, verdict: str, body: str) -> None:
    tx.execute("UPDATE decisions SET approval = ?, body = ? WHERE customer = ? AND id = ?",
               (verdict, body, customer, decision_id))
