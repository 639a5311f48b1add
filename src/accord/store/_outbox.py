"""The outbox's rows: one per delivered touch, keyed like every hot table by customer.

Status moves queued → sending → sent, or back to queued with a later ``due_at`` after a
transient failure, or to dead / cancelled. A ``sending`` row's ``due_at`` is its lease's end,
so a row whose dispatcher died becomes due again by itself."""

from __future__ import annotations

import json
from typing import Any

from accord.store._base import Tx
from accord.store._rows import dumps

LIVE = ("queued", "sending")
STATUSES = ("queued", "sending", "sent", "failed", "dead", "cancelled")


def enqueue(tx: Tx, customer: str, touch_id: str, agent: str, channel: str, address: str,
            payload: dict[str, Any], due_at: float, now: float) -> None:
    tx.execute("INSERT INTO outbox (customer, id, agent, channel, address, payload, status, "
               "attempts, due_at, created_at) VALUES (?,?,?,?,?,?,'queued',0,?,?)",
               (customer, touch_id, agent, channel, address, dumps(payload), due_at, now))


def due(tx: Tx, now: float, limit: int) -> list[dict[str, Any]]:
    return tx.rows("SELECT customer, id FROM outbox WHERE status IN ('queued', 'sending') AND "
                   "due_at <= ? ORDER BY due_at LIMIT ?", (now, limit))


def depth(tx: Tx) -> list[dict[str, Any]]:
    """Live rows by channel and status (queued, sending): the queue /metrics reports."""
    return tx.rows("SELECT channel, status, COUNT(*) AS n FROM outbox WHERE status IN "
                   "('queued', 'sending') GROUP BY channel, status")


def get(tx: Tx, customer: str, touch_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM outbox WHERE customer = ? AND id = ?", (customer, touch_id))


def lease(tx: Tx, customer: str, touch_id: str, owner: str, until: float) -> None:
    tx.execute("UPDATE outbox SET status = 'sending', attempts = attempts + 1, due_at = ?, "
               "lease_owner = ? WHERE customer = ? AND id = ?", (until, owner, customer, touch_id))


def settle(tx: Tx, customer: str, touch_id: str, status: str, *, error: str | None = None,
           sender: str | None = None, ref: str | None = None, at: float | None = None,
           due_at: float | None = None) -> None:
    """Finish (sent / dead / cancelled) or requeue (queued with ``due_at``) a row."""
    tx.execute("UPDATE outbox SET status = ?, last_error = COALESCE(?, last_error), "
               "sender = COALESCE(?, sender), ref = COALESCE(?, ref), "
               "sent_at = COALESCE(?, sent_at), due_at = COALESCE(?, due_at), "
               "lease_owner = NULL WHERE customer = ? AND id = ?",
               (status, error, sender, ref, at if status == "sent" else None, due_at,
                customer, touch_id))


def cancel_queued(tx: Tx, customer: str, touch_id: str, why: str) -> None:
    """A revoked touch's delivery is cancelled in the revocation's transaction."""
    tx.execute("UPDATE outbox SET status = 'cancelled', last_error = ? WHERE customer = ? AND "
               "id = ? AND status = 'queued'", (why, customer, touch_id))


def customers_at(tx: Tx, channel: str, address: str) -> list[str]:
    """Customers Accord delivered to ``address`` on ``channel`` (inbound replies name only the
    address)."""
    return [r["customer"] for r in tx.rows(
        "SELECT DISTINCT customer FROM outbox WHERE channel = ? AND address = ? ORDER BY "
        "customer", (channel, address))]


def listing(tx: Tx, *, status: str | None, channel: str | None, customer: str | None,
            agent: str | None, limit: int, after: str | None) -> list[dict[str, Any]]:
    where, params = ["1 = 1"], []
    for column, value in (("status", status), ("channel", channel), ("customer", customer),
                          ("agent", agent)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if after is not None:
        where.append("id > ?")
        params.append(after)
    return tx.rows(f"SELECT * FROM outbox WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
                   (*params, limit))


def counts(tx: Tx, *, agent: str | None = None) -> list[dict[str, Any]]:
    """Deliveries by channel, sender and status (one agent's, with ``agent``)."""
    where, params = ("WHERE agent = ? ", (agent,)) if agent is not None else ("", ())
    return tx.rows("SELECT channel, sender, status, COUNT(*) AS n FROM outbox "
                   f"{where}GROUP BY channel, sender, status ORDER BY channel, sender, status",
                   params)


def newest(tx: Tx, *, agent: str | None, status: str | None, limit: int,
           customer: str | None = None) -> list[dict[str, Any]]:
    """The newest deliveries first, filtered (the dashboard's outbox and customer pages)."""
    where, params = ["1 = 1"], []
    for column, value in (("agent", agent), ("status", status), ("customer", customer)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return tx.rows("SELECT customer, id, agent, channel, address, status, attempts, sender, "
                   f"ref, last_error, created_at, sent_at FROM outbox WHERE {' AND '.join(where)} "
                   "ORDER BY created_at DESC, id LIMIT ?", (*params, limit))


def touch(tx: Tx, customer: str, touch_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM touches WHERE customer = ? AND id = ?", (customer, touch_id))


def meta(tx: Tx, key: str, *, default: str | None = None) -> str | None:
    """A ``meta`` value; with ``default``, set it first if absent (in a write transaction)."""
    if default is not None:
        tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                   (key, default))
    found = tx.one("SELECT value FROM meta WHERE key = ?", (key,))
    return None if found is None else str(found["value"])


def contexts(tx: Tx) -> list[tuple[str, dict[str, Any]]]:
    """Every customer's context, by id (internal chains, named ``_…``, left out)."""
    return [(r["id"], json.loads(r["fields"])) for r in tx.rows(
        "SELECT id, fields FROM customers ORDER BY id") if not r["id"].startswith("_")]


def event_exists(tx: Tx, customer: str, event_id: str) -> bool:
    return tx.one("SELECT 1 AS x FROM events WHERE customer = ? AND id = ?",
                  (customer, event_id)) is not None


def customer_of(tx: Tx, touch_id: str) -> str | None:
    found = tx.one("SELECT customer FROM outbox WHERE id = ?", (touch_id,))
    return None if found is None else str(found["customer"])


def take_send_token(tx: Tx, sender: str, rate: float, burst: float, now: float) -> float:
    """Take one send from ``sender``'s token bucket, shared by every replica: 0 when taken,
    else the seconds until one is free. One atomic UPDATE, so concurrent replicas never both
    take the last token."""
    tx.execute("INSERT INTO send_rates (sender, tokens, updated_at) VALUES (?, ?, ?) "
               "ON CONFLICT (sender) DO NOTHING", (sender, burst, now))
    refill = "tokens + (? - updated_at) * ?"
    taken = tx.rows(f"UPDATE send_rates SET tokens = (CASE WHEN {refill} > ? THEN ? ELSE "
                    f"{refill} END) - 1, updated_at = ? WHERE sender = ? AND {refill} >= 1 "
                    "RETURNING tokens", (now, rate, burst, burst, now, rate, now, sender, now,
                                         rate))
    if taken:
        return 0.0
    row = tx.one("SELECT tokens, updated_at FROM send_rates WHERE sender = ?", (sender,))
    have = 0.0 if row is None else float(row["tokens"]) + (now - float(row["updated_at"])) * rate
    return max(1.0 - have, 0.0) / rate or 1.0 / rate
