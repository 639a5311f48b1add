"""The ``webhooks`` and ``deliveries`` rows: registered receivers, and one row per (webhook,
message) from before it is sent until it is delivered or dead.

A ``pending`` delivery's ``next_at`` is when it may be sent next; leasing a due row moves it
past the lease, with a conditional UPDATE, so of two replicas leasing at once only one gets it."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx


def add(tx: Tx, webhook_id: str, owner: str, url: str, secret: str, kinds: str,
        created_at: float) -> None:
    tx.execute("INSERT INTO webhooks (id, owner, url, secret, kinds, created_at, active) "
               "VALUES (?,?,?,?,?,?,1)", (webhook_id, owner, url, secret, kinds, created_at))


def every(tx: Tx) -> list[dict[str, Any]]:
    return tx.rows("SELECT * FROM webhooks ORDER BY created_at")


def get(tx: Tx, webhook_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM webhooks WHERE id = ?", (webhook_id,))


def deactivate(tx: Tx, webhook_id: str) -> None:
    tx.execute("UPDATE webhooks SET active = 0 WHERE id = ?", (webhook_id,))


def active(tx: Tx) -> list[dict[str, Any]]:
    return tx.rows("SELECT id, url, secret, kinds FROM webhooks WHERE active = 1")


def enqueue(tx: Tx, rows: list[tuple[str, str, str, float]]) -> None:
    """Add (delivery id, webhook id, message JSON, now) rows, each once (replicas hearing the
    same message add the same id)."""
    for did, webhook_id, message, now in rows:
        tx.execute("INSERT INTO deliveries (id, webhook_id, message, attempts, next_at, status, "
                   "created_at) VALUES (?,?,?,0,?,'pending',?) ON CONFLICT (id) DO NOTHING",
                   (did, webhook_id, message, now, now))


def pending(tx: Tx) -> int:
    r = tx.one("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'")
    return int(r["n"]) if r else 0


def any_due(tx: Tx, now: float) -> bool:
    return tx.one("SELECT id FROM deliveries WHERE status = 'pending' AND next_at <= ? LIMIT 1",
                  (now,)) is not None


def lease_due(tx: Tx, now: float, until: float, *, limit: int = 50) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due deliveries until ``until``, oldest due first, with their
    webhook's url and secret; a row another transaction leased meanwhile is left out."""
    due = tx.rows("SELECT d.id, d.webhook_id, d.message, d.attempts, w.url, w.secret "
                  "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE "
                  "d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at LIMIT ?",
                  (now, limit))
    return [d for d in due if tx.rows(
        "UPDATE deliveries SET next_at = ? WHERE id = ? AND status = 'pending' AND "
        "next_at <= ? RETURNING id", (until, d["id"], now))]


def settle(tx: Tx, delivery_id: str, attempts: int, status: str, next_at: float,
           error: str | None) -> None:
    tx.execute("UPDATE deliveries SET attempts = ?, status = ?, next_at = ?, last_error = ? "
               "WHERE id = ?", (attempts, status, next_at, error, delivery_id))


def dead(tx: Tx, limit: int) -> list[dict[str, Any]]:
    """Deliveries that failed every attempt, newest first."""
    return tx.rows("SELECT * FROM deliveries WHERE status = 'dead' ORDER BY created_at DESC "
                   "LIMIT ?", (limit,))
