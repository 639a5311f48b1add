"""The handoffs table: structured messages between seats (and people), read and acked."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx


def insert(tx: Tx, handoff_id: str, sender: str, receiver: str, kind: str,
           customer: str | None, trace_id: str | None, parent_id: str | None, payload: str,
           artifacts: str, created_at: float, due_at: float, via: str | None) -> None:
    tx.execute("INSERT INTO handoffs (id, sender, receiver, kind, customer, trace_id, "
               "parent_id, payload, artifacts, created_at, due_at, via) VALUES "
               "(?,?,?,?,?,?,?,?,?,?,?,?)",
               (handoff_id, sender, receiver, kind, customer, trace_id, parent_id, payload,
                artifacts, created_at, due_at, via))


def for_receiver(tx: Tx, receiver: str, *, include_acked: bool) -> list[dict[str, Any]]:
    cond = "" if include_acked else " AND acked_at IS NULL"
    return tx.rows(f"SELECT * FROM handoffs WHERE receiver = ?{cond} ORDER BY created_at, id",
                   (receiver,))


def mark_read(tx: Tx, handoff_ids: list[str], at: float) -> None:
    if handoff_ids:
        marks = ",".join("?" * len(handoff_ids))
        tx.execute(f"UPDATE handoffs SET read_at = ? WHERE id IN ({marks})", (at, *handoff_ids))


def every(tx: Tx) -> list[dict[str, Any]]:
    return tx.rows("SELECT * FROM handoffs ORDER BY created_at, id")


def get(tx: Tx, handoff_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM handoffs WHERE id = ?", (handoff_id,))


def ack(tx: Tx, handoff_id: str, at: float) -> None:
    tx.execute("UPDATE handoffs SET acked_at = ?, read_at = COALESCE(read_at, ?) WHERE id = ?",
               (at, at, handoff_id))
