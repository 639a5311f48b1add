"""What budgets count: an agent's spend per day (sharded rows, see ``SPEND_SHARDS``) and the
running totals of each named trace."""

from __future__ import annotations

import zlib
from typing import Any

from accord.store._base import Tx

SPEND_SHARDS = 16
"""Per-agent spend is spread over this many rows (by customer) so one busy agent's decisions do
not all queue on one counter row; reading the day's spend sums them."""


def of_day(tx: Tx, agent: str, day: str) -> tuple[float, int]:
    """The agent's (usd, tokens) spent on ``day``."""
    s = tx.one("SELECT COALESCE(SUM(usd), 0) AS usd, COALESCE(SUM(tokens), 0) AS tokens "
               "FROM spend WHERE agent = ? AND day = ?", (agent, day))
    assert s is not None
    return float(s["usd"]), int(s["tokens"])


def add(tx: Tx, agent: str, day: str, customer: str, usd: float, tokens: int) -> None:
    shard = zlib.crc32(customer.encode()) % SPEND_SHARDS
    tx.execute("INSERT INTO spend (agent, day, shard, usd, tokens) VALUES (?,?,?,?,?) "
               "ON CONFLICT (agent, day, shard) DO UPDATE SET usd = spend.usd + excluded.usd, "
               "tokens = spend.tokens + excluded.tokens", (agent, day, shard, usd, tokens))


def of_trace(tx: Tx, trace_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT usd, tokens, count FROM traces WHERE trace_id = ?", (trace_id,))


def add_to_trace(tx: Tx, trace_id: str, usd: float, tokens: int) -> None:
    tx.execute("INSERT INTO traces (trace_id, usd, tokens, count) VALUES (?,?,?,1) "
               "ON CONFLICT (trace_id) DO UPDATE SET usd = traces.usd + excluded.usd, "
               "tokens = traces.tokens + excluded.tokens, count = traces.count + 1",
               (trace_id, usd, tokens))
