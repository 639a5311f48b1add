"""The personal table (values kept beside the ledger, see ``accord.ledger._personal``) and the
statements that erase a customer's personal values wherever they are kept."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx

_CHUNK = 500


def insert(tx: Tx, customer: str, ref: str, salt: str, value: str) -> None:
    tx.execute("INSERT INTO personal (customer, ref, salt, value) VALUES (?,?,?,?)",
               (customer, ref, salt, value))


def by_refs(tx: Tx, refs: list[str]) -> list[dict[str, Any]]:
    """``customer, ref, salt, value`` of every row whose ref is in ``refs`` (read in chunks)."""
    out: list[dict[str, Any]] = []
    for i in range(0, len(refs), _CHUNK):
        part = refs[i:i + _CHUNK]
        marks = ",".join("?" * len(part))
        out += tx.rows(f"SELECT customer, ref, salt, value FROM personal WHERE ref IN ({marks})",
                       tuple(part))
    return out


def erase(tx: Tx, customer: str) -> dict[str, int]:
    """Delete ``customer``'s personal values, clear its event data and handoff payloads;
    how many rows each place had."""
    counts: dict[str, int] = {}
    for table, clear in (("personal", "DELETE FROM personal WHERE customer = ?"),
                         ("events", "UPDATE events SET data = '{}' WHERE customer = ?"),
                         ("handoffs", "UPDATE handoffs SET payload = '{}', artifacts = '[]' "
                                      "WHERE customer = ?")):
        n = tx.one(f"SELECT COUNT(*) AS n FROM {table} WHERE customer = ?", (customer,))
        counts[table] = int(n["n"]) if n else 0
        tx.execute(clear, (customer,))
    return counts


def replace_answers(tx: Tx, pattern: str, status: int, response: str) -> int:
    """Replace every stored idempotent answer whose text matches the LIKE ``pattern`` (``!``
    escapes) with ``status`` and ``response``; how many there were."""
    found = tx.one("SELECT COUNT(*) AS n FROM requests WHERE response LIKE ? ESCAPE '!'",
                   (pattern,))
    tx.execute("UPDATE requests SET status = ?, response = ? WHERE response LIKE ? "
               "ESCAPE '!'", (status, response, pattern))
    return int(found["n"]) if found else 0
