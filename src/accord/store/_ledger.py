"""The ledger table's statements. The chain itself (hash, append, verify, trace) is
``accord.ledger``; this module only reads and writes its rows, inside the caller's ``Tx``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from accord.store._base import Tx

NAMED_TRACE = "trace_id IS NOT NULL AND (ref IS NULL OR trace_id <> ref)"
"""The ledger entries ``ledger_trace`` holds. A decision whose caller named no trace is its own
trace (``trace_id`` = its id = ``ref``), so its entry and its incidents are found through
``ledger_ref`` instead: ``TRACE`` reads both, and most decisions write one index entry fewer."""

TRACE = (f"SELECT * FROM ledger WHERE trace_id = ? AND ({NAMED_TRACE.split(' AND ', 1)[1]}) "
         "UNION ALL SELECT * FROM ledger WHERE ref = ? AND trace_id = ref ORDER BY seq")
"""Every ledger entry of trace ``?`` (pass the id twice), in order."""

FEED = {
    "sqlite": ("SELECT 0 AS feed_tx, * FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?"),
    "postgres": ("SELECT COALESCE(tx, 0) AS feed_tx, * FROM ledger "
                 "WHERE (COALESCE(tx, 0), seq) > (?, ?) "
                 "AND COALESCE(tx, 0) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
                 "ORDER BY COALESCE(tx, 0), seq LIMIT ?"),
}
"""One page of the ledger feed after a (writer transaction, seq) position. SQLite serializes
writers, so its ``seq`` order is commit order and the writer part is always 0."""


def insert(tx: Tx, chain: str, chain_seq: int, kind: str, at: float, agent: str | None,
           trace_id: str | None, parent_id: str | None, ref: str | None, body: str,
           prev_hash: str, digest: str) -> None:
    """One entry; ``customer`` is the chain unless it is an internal one (``_fleet``)."""
    tx.execute("INSERT INTO ledger (chain, chain_seq, kind, at, customer, agent, trace_id, "
               "parent_id, ref, body, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
               (chain, chain_seq, kind, at, None if chain.startswith("_") else chain,
                agent, trace_id, parent_id, ref, body, prev_hash, digest))


def after(tx: Tx, seq: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` entries after ``seq``, in ``seq`` order."""
    return tx.rows("SELECT * FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))


def every(tx: Tx, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every entry in ``seq`` order, a page at a time, inside the caller's transaction."""
    seq = -(2**63)  # every row: an entry hidden at seq <= 0 must not escape verify
    while True:
        page = after(tx, seq, batch)
        if not page:
            return
        yield from page
        seq = page[-1]["seq"]


def of_trace(tx: Tx, trace_id: str) -> list[dict[str, Any]]:
    return tx.rows(TRACE, (trace_id, trace_id))


def caused_by(tx: Tx, parents: list[str], outside: str) -> list[dict[str, Any]]:
    """Entries whose parent is one of ``parents`` and that belong to no trace or another
    than ``outside`` (what a trace's decisions caused elsewhere)."""
    if not parents:
        return []
    marks = ",".join("?" * len(parents))
    return tx.rows(f"SELECT * FROM ledger WHERE parent_id IN ({marks}) AND "
                   "(trace_id IS NULL OR trace_id <> ?) ORDER BY seq", (*parents, outside))


def feed(tx: Tx, postgres: bool, tx_pos: int, seq_pos: int,
         limit: int) -> list[dict[str, Any]]:
    if postgres:
        return tx.rows(FEED["postgres"], (tx_pos, seq_pos, limit))
    return tx.rows(FEED["sqlite"], (seq_pos, limit))


def of_decision(tx: Tx, decision_id: str) -> list[dict[str, Any]]:
    """The decision's own entry and the approval entries that name it, in order."""
    return tx.rows("SELECT * FROM ledger WHERE ref = ? AND kind IN ('decision', 'approval') "
                   "ORDER BY seq", (decision_id,))


def chain(tx: Tx, chain_id: str) -> list[dict[str, Any]]:
    return tx.rows("SELECT * FROM ledger WHERE chain = ? ORDER BY chain_seq", (chain_id,))
