"""Reads the interfaces make that the service has no method for: when each seat last acted, a
customer's chain of the ledger (whole or its newest entries), the latest review of a decision,
where decisions and touches stand now, the registry's seats. Reads only, each one query on an
index except ``last_acted``, which aggregates once per page view."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx

ENTRY = "seq, kind, at, customer, agent, ref, parent_id, body, trace_id"


def last_acted(tx: Tx, kinds: tuple[str, ...]) -> dict[str, float]:
    """When each agent last wrote a ledger entry of one of ``kinds``."""
    marks = ",".join("?" * len(kinds))
    rows = tx.rows(f"SELECT agent, MAX(at) AS at FROM ledger WHERE agent IS NOT NULL AND "
                   f"kind IN ({marks}) GROUP BY agent", kinds)
    return {r["agent"]: float(r["at"]) for r in rows}


def chain(tx: Tx, customer: str, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` entries of ``customer``'s chain, in order."""
    return tx.rows(f"SELECT {ENTRY} FROM ledger WHERE chain = ? ORDER BY chain_seq LIMIT ?",
                   (customer, limit))


def newest_entries(tx: Tx, customer: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` ledger entries about ``customer``, newest first."""
    return tx.rows("SELECT seq, kind, at, agent, trace_id, parent_id, ref, body FROM ledger "
                   "WHERE customer = ? ORDER BY seq DESC LIMIT ?", (customer, limit))


def latest_review(tx: Tx, customer: str, decision_id: str) -> dict[str, Any] | None:
    """The body of the newest ``approval`` entry for ``decision_id``, or ``None``."""
    return tx.one("SELECT body FROM ledger WHERE customer = ? AND kind = 'approval' "
                  "AND ref = ? ORDER BY seq DESC LIMIT 1", (customer, decision_id))


def approvals(tx: Tx, decision_ids: list[str]) -> dict[str, str]:
    """Where each flagged decision of ``decision_ids`` stands (pending, approved, rejected)."""
    if not decision_ids:
        return {}
    marks = ",".join("?" * len(decision_ids))
    rows = tx.rows(f"SELECT id, approval FROM decisions WHERE id IN ({marks})",
                   tuple(decision_ids))
    return {r["id"]: r["approval"] for r in rows if r["approval"]}


def touches_of(tx: Tx, customer: str) -> dict[str, str]:
    """Where each of ``customer``'s touches stands (pending, executed, revoked …)."""
    rows = tx.rows("SELECT id, status FROM touches WHERE customer = ?", (customer,))
    return {r["id"]: r["status"] for r in rows}


def seat_statuses(tx: Tx) -> dict[str, str]:
    """Each registered seat's status (active, paused, retired)."""
    return {r["id"]: r["status"] for r in tx.rows("SELECT id, status FROM seats")}
