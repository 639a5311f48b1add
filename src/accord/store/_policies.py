"""The policies table: every policy text decisions were made under. Replicas follow the newest
applied row (``applied_at``); a file a replica started from is recorded with ``applied_at`` 0,
so it is findable by its version without being adopted by the others."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx


def applied(tx: Tx, version: str, text: str, at: float, by: str) -> None:
    tx.execute("INSERT INTO policies (version, text, applied_at, applied_by) VALUES (?,?,?,?) "
               "ON CONFLICT (version) DO UPDATE SET applied_at = excluded.applied_at, "
               "applied_by = excluded.applied_by", (version, text, at, by))


def loaded(tx: Tx, version: str, text: str, source: str) -> None:
    """Record a policy a replica decides under without an apply (its file), once."""
    tx.execute("INSERT INTO policies (version, text, applied_at, applied_by) VALUES "
               "(?,?,0,?) ON CONFLICT (version) DO NOTHING", (version, text, f"file:{source}"))


def newest_at(tx: Tx) -> float:
    r = tx.one("SELECT MAX(applied_at) AS at FROM policies")
    return float(r["at"]) if r and r["at"] is not None else 0.0


def newest(tx: Tx) -> dict[str, Any] | None:
    return tx.one("SELECT version, text, applied_at FROM policies ORDER BY applied_at DESC "
                  "LIMIT 1")

