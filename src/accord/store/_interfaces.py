"""The ``interfaces`` rows: which protocol each agent has been seen on, how often, and when
last (what the fleet audit and the dashboard's fleet page read)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accord.store._base import Tx


def record(tx: Tx, protocol: str, calls: Mapping[str, tuple[int, float]]) -> None:
    """Add ``calls`` (agent → (count, last call at)) to the agents' counts on ``protocol``."""
    for agent, (count, at) in sorted(calls.items()):
        tx.execute("INSERT INTO interfaces (agent, protocol, last_at, count) VALUES (?,?,?,?) "
                   "ON CONFLICT (agent, protocol) DO UPDATE SET last_at = excluded.last_at, "
                   "count = interfaces.count + excluded.count", (agent, protocol, at, count))


def every(tx: Tx) -> list[dict[str, Any]]:
    """Every (agent, protocol) with its ``last_at`` and ``count``, by protocol."""
    return tx.rows("SELECT agent, protocol, last_at, count FROM interfaces ORDER BY protocol")
