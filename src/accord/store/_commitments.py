"""The commitments table: offers a go made, active until they lapse or their touch ends."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx


def active(tx: Tx, customer: str, product: str, at: float) -> list[dict[str, Any]]:
    return tx.rows("SELECT * FROM commitments WHERE customer = ? AND status = 'active' AND "
                   "product = ? AND valid_until > ?", (customer, product, at))


def supersede(tx: Tx, customer: str, agent: str, product: str) -> None:
    """The agent's active offers of ``product`` give way to its new one."""
    tx.execute("UPDATE commitments SET status = 'superseded' WHERE customer = ? AND agent = ? "
               "AND product = ? AND status = 'active'", (customer, agent, product))


def insert(tx: Tx, customer: str, commitment_id: str, agent: str, product: str, offer: str,
           valid_until: float, decision_id: str, touch_id: str | None) -> None:
    tx.execute("INSERT INTO commitments (customer, id, agent, product, offer, valid_until, "
               "decision_id, touch_id, status) VALUES (?,?,?,?,?,?,?,?,'active')",
               (customer, commitment_id, agent, product, offer, valid_until, decision_id,
                touch_id))


def end_with_touch(tx: Tx, customer: str, touch_id: str, status: str) -> None:
    """The commitments a touch made take its end: revoked, failed or cancelled."""
    tx.execute("UPDATE commitments SET status = ? WHERE customer = ? AND touch_id = ?",
               (status, customer, touch_id))
