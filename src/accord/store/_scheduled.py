"""The scheduled table's rows: deferred proposals Accord keeps, keyed like every hot table by
customer.

Status moves waiting → done (a re-decision that is not a defer), lapsed (the deadline passed)
or cancelled. A waiting row's ``due_at`` is its next re-decision. Every change happens under
the customer's lock, in the transaction that records the decision it concerns, so the row and
the decisions it lists never disagree and no replica can re-decide a row twice."""

from __future__ import annotations

import json
from typing import Any

from accord.store._base import Tx
from accord.store._rows import dumps

STATUSES = ("waiting", "done", "lapsed", "cancelled")


def create(tx: Tx, customer: str, sid: str, agent: str, *, due_at: float, deadline: float,
           proposal: str, approval: str | None, decision_id: str, now: float) -> None:
    tx.execute("INSERT INTO scheduled (customer, id, agent, status, due_at, deadline, proposal, "
               "approval, decisions, outcome, created_at, updated_at) VALUES "
               "(?,?,?,'waiting',?,?,?,?,?,'defer',?,?)",
               (customer, sid, agent, due_at, deadline, proposal, approval,
                dumps([decision_id]), now, now))


def get(tx: Tx, customer: str, sid: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM scheduled WHERE customer = ? AND id = ?", (customer, sid))


def find(tx: Tx, sid: str) -> dict[str, Any] | None:
    """A row by id alone (reads: the id does not name its customer)."""
    return tx.one("SELECT * FROM scheduled WHERE id = ?", (sid,))


def due(tx: Tx, now: float, limit: int) -> list[dict[str, Any]]:
    return tx.rows("SELECT customer, id FROM scheduled WHERE status = 'waiting' AND due_at <= ? "
                   "ORDER BY due_at LIMIT ?", (now, limit))


def advance(tx: Tx, row: dict[str, Any], decision_id: str, outcome: str, *, status: str,
            due_at: float | None, note: str | None, now: float) -> None:
    """Append a re-decision to the row's chain and move it on (still waiting at ``due_at``,
    or ended with ``status``)."""
    chain = [*json.loads(row["decisions"]), decision_id]
    tx.execute("UPDATE scheduled SET status = ?, due_at = COALESCE(?, due_at), decisions = ?, "
               "outcome = ?, note = ?, updated_at = ? WHERE customer = ? AND id = ?",
               (status, due_at, dumps(chain), outcome, note, now, row["customer"], row["id"]))


def end(tx: Tx, row: dict[str, Any], status: str, note: str, now: float) -> None:
    """End a waiting row without a new decision (lapsed or cancelled)."""
    tx.execute("UPDATE scheduled SET status = ?, note = ?, updated_at = ? WHERE customer = ? "
               "AND id = ?", (status, note, now, row["customer"], row["id"]))


def waiting_of(tx: Tx, customer: str) -> list[dict[str, Any]]:
    return tx.rows("SELECT * FROM scheduled WHERE customer = ? AND status = 'waiting' "
                   "ORDER BY due_at", (customer,))
