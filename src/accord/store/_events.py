"""The events table: facts about a customer, each with the context version it produced."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx


def get(tx: Tx, customer: str, event_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT type, at, data, source, version FROM events WHERE customer = ? AND "
                  "id = ?", (customer, event_id))


def insert(tx: Tx, customer: str, event_id: str, type: str, at: float, data: str,
           source: str | None, version: int) -> None:
    tx.execute("INSERT INTO events (customer, id, type, at, data, source, version) "
               "VALUES (?,?,?,?,?,?,?)", (customer, event_id, type, at, data, source, version))
