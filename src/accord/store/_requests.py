"""The ``requests`` rows: one per (principal, ``Idempotency-Key``), claimed before a write runs
and holding its answer after (see accord/http/_idem.py). ``status`` 0 is a claim still waiting
for its answer."""

from __future__ import annotations

import json
from typing import Any

from accord.store._base import Tx

PENDING = 0


def claim(tx: Tx, who: str, key: str, digest: str, now: float, lease: float
          ) -> dict[str, Any] | None:
    """Claim (who, key), taking over a claim older than ``lease`` seconds: ``None`` if this
    transaction now holds it, else the row that does."""
    tx.execute("DELETE FROM requests WHERE principal = ? AND key = ? AND status = ? AND "
               "created_at < ?", (who, key, PENDING, now - lease))
    mine = tx.one("INSERT INTO requests (principal, key, request_hash, status, response, "
                  "created_at) VALUES (?,?,?,?,'',?) ON CONFLICT (principal, key) DO NOTHING "
                  "RETURNING key", (who, key, digest, PENDING, now))
    if mine is not None:
        return None
    return tx.one("SELECT request_hash, status, response FROM requests WHERE principal = ? "
                  "AND key = ?", (who, key))


def release(tx: Tx, who: str, key: str) -> None:
    """Drop an unanswered claim, so a retry runs the write afresh."""
    tx.execute("DELETE FROM requests WHERE principal = ? AND key = ? AND status = ?",
               (who, key, PENDING))


def answer(tx: Tx, who: str, key: str, status: int, body: Any) -> None:
    tx.execute("UPDATE requests SET status = ?, response = ? WHERE principal = ? AND key = ?",
               (status, json.dumps(body), who, key))
