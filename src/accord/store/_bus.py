"""The rows that carry live updates between processes sharing one SQLite file.

``bus_events`` is an append-only queue of published messages, read by id (``AUTOINCREMENT``,
so an id is never reused even after old rows are pruned); ``bus_listeners`` names the processes
that have someone listening, each with a lease it renews, so a process with no listener writes
no events at all. Neither table is part of the record: the ledger is; rows older than a minute
are pruned.
"""

from __future__ import annotations

import json
from typing import Any

from accord.store._base import Tx

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bus_events (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "replica TEXT NOT NULL, at REAL NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bus_listeners (replica TEXT PRIMARY KEY, until REAL NOT NULL)",
)


def create(tx: Tx) -> None:
    for statement in SCHEMA:
        tx.execute(statement)


def append(tx: Tx, replica: str, messages: list[dict[str, Any]], at: float) -> None:
    for m in messages:
        tx.execute("INSERT INTO bus_events (replica, at, body) VALUES (?,?,?)",
                   (replica, at, json.dumps(m, default=str)))


def head(tx: Tx) -> int:
    """The newest event's id (0 when there is none): a new listener starts after it."""
    row = tx.one("SELECT MAX(id) AS id FROM bus_events")
    return int(row["id"] or 0) if row else 0


def since(tx: Tx, after: int, *, limit: int = 1000) -> list[dict[str, Any]]:
    """Events after id ``after``, oldest first (a range scan of the primary key)."""
    return tx.rows("SELECT id, replica, body FROM bus_events WHERE id > ? ORDER BY id LIMIT ?",
                   (after, limit))


def listen(tx: Tx, replica: str, until: float) -> None:
    tx.execute("INSERT INTO bus_listeners (replica, until) VALUES (?,?) ON CONFLICT (replica) "
               "DO UPDATE SET until = excluded.until", (replica, until))


def unlisten(tx: Tx, replica: str) -> None:
    tx.execute("DELETE FROM bus_listeners WHERE replica = ?", (replica,))


def others_listen(tx: Tx, replica: str, now: float) -> bool:
    """Whether a process other than ``replica`` holds a live listener lease."""
    return tx.one("SELECT 1 AS yes FROM bus_listeners WHERE replica <> ? AND until > ? LIMIT 1",
                  (replica, now)) is not None


def prune(tx: Tx, before: float) -> None:
    tx.execute("DELETE FROM bus_events WHERE at < ?", (before,))
    tx.execute("DELETE FROM bus_listeners WHERE until < ?", (before,))
