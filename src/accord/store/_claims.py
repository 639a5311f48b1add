"""The claims table: an agent's declared interest in a customer until a time."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx


def active(tx: Tx, customer: str, at: float) -> list[dict[str, Any]]:
    """Claims on ``customer`` not released and still running at ``at``."""
    return tx.rows("SELECT id, agent, purpose, until FROM claims WHERE customer = ? AND "
                   "released = 0 AND until > ?", (customer, at))


def insert(tx: Tx, customer: str, claim_id: str, agent: str, purpose: str, until: float,
           now: float) -> None:
    tx.execute("INSERT INTO claims (customer, id, agent, purpose, until, created_at) "
               "VALUES (?,?,?,?,?,?)", (customer, claim_id, agent, purpose, until, now))


def open_of(tx: Tx, customer: str, agent: str, now: float) -> list[dict[str, Any]]:
    """The ids of ``agent``'s claims on ``customer`` still running at ``now``."""
    return tx.rows("SELECT id FROM claims WHERE customer = ? AND agent = ? AND released = 0 "
                   "AND until > ?", (customer, agent, now))


def release(tx: Tx, customer: str, agent: str) -> None:
    tx.execute("UPDATE claims SET released = 1 WHERE customer = ? AND agent = ? AND "
               "released = 0", (customer, agent))
