"""The customers table beyond the locked row (``Tx.customer``): reading a context without a
lock, the chain heads verify compares, and everything kept about one customer."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx

KEPT = ("decisions", "touches", "events", "claims", "commitments", "handoffs")
"""The tables whose rows name a customer (what an export returns besides the context)."""


def get(tx: Tx, customer: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM customers WHERE id = ?", (customer,))


def chain_heads(tx: Tx) -> list[dict[str, Any]]:
    """Each chain's saved head (``id, chain_seq, chain_head``), for chains with entries."""
    return tx.rows("SELECT id, chain_seq, chain_head FROM customers WHERE chain_seq > 0")


def kept_about(tx: Tx, customer: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``KEPT`` that names ``customer``, by table, each table by id."""
    return {table: tx.rows(f"SELECT * FROM {table} WHERE customer = ? ORDER BY id", (customer,))
            for table in KEPT}
