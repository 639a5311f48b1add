"""The touches table: the contact slots goes hold, pending until the agent reports what
became of them (the gate's reads of it are ``_rows.touches_near`` and ``pending_touches``)."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx


def insert(tx: Tx, customer: str, touch_id: str, decision_id: str, agent: str, channel: str,
           intent: str, action: str, at: float, seq: int, proposal: str) -> None:
    tx.execute("INSERT INTO touches (customer, id, decision_id, agent, channel, intent, "
               "action, at, status, seq, proposal) VALUES (?,?,?,?,?,?,?,?,'pending',?,?)",
               (customer, touch_id, decision_id, agent, channel, intent, action, at, seq,
                proposal))


def get(tx: Tx, customer: str, touch_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM touches WHERE customer = ? AND id = ?", (customer, touch_id))


def find(tx: Tx, touch_id: str) -> dict[str, Any] | None:
    """A touch by id alone (reads: the id does not name its customer)."""
    return tx.one("SELECT * FROM touches WHERE id = ?", (touch_id,))


def customer_of(tx: Tx, touch_id: str) -> str | None:
    found = tx.one("SELECT customer FROM touches WHERE id = ?", (touch_id,))
    return None if found is None else str(found["customer"])


def set_status(tx: Tx, customer: str, touch_id: str, status: str, reason: str | None) -> None:
    tx.execute("UPDATE touches SET status = ?, status_reason = ? WHERE customer = ? AND id = ?",
               (status, reason, customer, touch_id))


def customers_pending_of(tx: Tx, agent: str) -> list[str]:
    """The customers on whom ``agent`` holds a pending touch."""
    return [r["customer"] for r in tx.rows(
        "SELECT DISTINCT customer FROM touches WHERE agent = ? AND status = 'pending'",
        (agent,))]


def pending_of(tx: Tx, customer: str, agent: str) -> list[str]:
    """The ids of ``agent``'s pending touches on ``customer``, oldest first."""
    return [r["id"] for r in tx.rows(
        "SELECT id FROM touches WHERE customer = ? AND agent = ? AND status = 'pending' "
        "ORDER BY seq", (customer, agent))]
