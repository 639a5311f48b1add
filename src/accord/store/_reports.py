"""The offline reports' reads (fleet audit, lift, attribution): whole tables for the audit, and
for the others the store a page of customers at a time (keyset on ``customers.id``), each page
in its own short read transaction, so a report over millions of customers holds no snapshot
open while it computes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from accord.store._base import Tx

if TYPE_CHECKING:
    from accord.store._base import Store

T = TypeVar("T")
COUNTED = ("customers", "touches", "claims", "commitments", "events", "ledger")
"""The tables whose sizes the audit reports."""


def customer_pages(store: Store, size: int, read: Callable[[Tx, list[str]], T]
                   ) -> Iterator[tuple[list[str], T]]:
    """Every customer id (internal chains, named ``_…``, included), ``size`` at a time in id
    order, each page with what ``read(tx, ids)`` returned in that page's transaction."""
    after = ""
    while True:
        with store.read() as tx:
            ids = [r["id"] for r in tx.rows("SELECT id FROM customers WHERE id > ? ORDER BY id "
                                            "LIMIT ?", (after, size))]
            if not ids:
                return
            got = read(tx, ids)
        after = ids[-1]
        yield ids, got


def _marks(n: int) -> str:
    return ", ".join("?" * n)


# The fleet audit: the whole ledger and every decision since an instant.

def ledger_since(tx: Tx, start: float) -> list[dict[str, Any]]:
    return tx.rows("SELECT seq, chain, kind, at, customer, agent, trace_id, parent_id, ref, "
                   "body FROM ledger WHERE at >= ? ORDER BY seq", (start,))


def decisions_since(tx: Tx, start: float) -> list[dict[str, Any]]:
    return tx.rows("SELECT customer, id, agent, outcome, approval, at, trace_id, body "
                   "FROM decisions WHERE at >= ? ORDER BY at", (start,))


def spend_by_agent(tx: Tx) -> list[dict[str, Any]]:
    return tx.rows("SELECT agent, SUM(usd) AS usd, SUM(tokens) AS tokens FROM spend "
                   "GROUP BY agent")


def traces(tx: Tx) -> list[dict[str, Any]]:
    return tx.rows("SELECT trace_id, usd, tokens, count FROM traces ORDER BY usd DESC")


def table_sizes(tx: Tx) -> dict[str, int]:
    return {t: int((tx.one(f"SELECT COUNT(*) AS n FROM {t}") or {"n": 0})["n"])
            for t in COUNTED}


# Lift: per page of customers, who was proposed for in a window and what followed.

def decided(tx: Tx, ids: Sequence[str], start: float, end: float) -> list[str]:
    """Those of ``ids`` with a decision in ``[start, end)``."""
    return [r["customer"] for r in tx.rows(
        f"SELECT DISTINCT customer FROM decisions WHERE customer IN ({_marks(len(ids))}) AND "
        "at >= ? AND at < ?", (*ids, start, end))]


def events_between(tx: Tx, ids: Sequence[str], start: float, end: float,
                   types: Sequence[str]) -> list[dict[str, Any]]:
    return tx.rows(f"SELECT customer, type, data FROM events WHERE customer IN "
                   f"({_marks(len(ids))}) AND at >= ? AND at < ? AND type IN "
                   f"({_marks(len(types))})", (*ids, start, end, *types))


def contacts_between(tx: Tx, ids: Sequence[str], start: float, end: float
                     ) -> list[dict[str, Any]]:
    """Executed or pending touches per customer of ``ids`` in ``[start, end)``."""
    return tx.rows(f"SELECT customer, COUNT(*) AS n FROM touches WHERE customer IN "
                   f"({_marks(len(ids))}) AND at >= ? AND at < ? AND status IN "
                   "('executed', 'pending') GROUP BY customer", (*ids, start, end))


# Attribution: every touch, every undelivered proposal and the events of a page of customers.

def touches_of(tx: Tx, ids: Sequence[str]) -> list[dict[str, Any]]:
    return tx.rows(f"SELECT customer, agent, channel, intent, at, status, seq, proposal "
                   f"FROM touches WHERE customer IN ({_marks(len(ids))})", tuple(ids))


def undelivered(tx: Tx, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Decisions of ``ids`` that were not a go and were not approved since, with their place
    in the customer's chain (``chain_seq``)."""
    return tx.rows(f"SELECT d.customer, d.agent, d.outcome, d.at, d.body, l.chain_seq "
                   f"FROM decisions d LEFT JOIN ledger l ON l.ref = d.id AND "
                   f"l.chain = d.customer AND l.kind = 'decision' WHERE d.customer "
                   f"IN ({_marks(len(ids))}) AND d.outcome <> 'go' AND (d.approval IS NULL OR "
                   "d.approval = 'pending')", tuple(ids))


def events_of(tx: Tx, ids: Sequence[str], types: Sequence[str]) -> list[dict[str, Any]]:
    return tx.rows(f"SELECT customer, id, type, at, data FROM events WHERE customer IN "
                   f"({_marks(len(ids))}) AND type IN ({_marks(len(types))})",
                   (*ids, *types))
