"""The dashboard's reads of decisions: a filtered page of them, newest first, and where their
touches stand now. Both backends run these statements as written (``?`` placeholders, LIKE with
an explicit escape).

Paging is by ledger sequence (``before``: the smallest ``seq`` of the previous page), so a page
stays put while decisions keep arriving. Outcome filters join ``decisions`` on its primary key;
a rule filter matches the rule id as the decision's JSON body spells it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accord.store._base import Tx


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """What the decisions page was asked to show; every field is optional."""

    agent: str | None = None
    outcome: str | None = None
    rule: str | None = None
    customer: str | None = None
    since: float | None = None
    until: float | None = None
    before: int | None = None
    """Only decisions older than this ledger sequence (the next page)."""


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def decision_page(tx: Tx, f: DecisionFilter, *, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` decision entries of the ledger that match ``f``, newest first."""
    where: list[str] = ["l.kind = 'decision'"]
    params: list[Any] = []
    join = ""
    for column, value in (("l.agent", f.agent), ("l.customer", f.customer)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if f.outcome is not None:
        join = " JOIN decisions d ON d.customer = l.customer AND d.id = l.ref"
        where.append("d.outcome = ?")
        params.append(f.outcome)
    if f.rule is not None:
        where.append("l.body LIKE ? ESCAPE '\\'")
        params.append(f'%"rule":"{_like(f.rule)}"%')
    for op, instant in ((">=", f.since), ("<", f.until)):
        if instant is not None:
            where.append(f"l.at {op} ?")
            params.append(instant)
    if f.before is not None:
        where.append("l.seq < ?")
        params.append(f.before)
    return tx.rows("SELECT l.seq, l.kind, l.at, l.customer, l.agent, l.ref, l.parent_id, "
                   f"l.trace_id, l.body FROM ledger l{join} WHERE {' AND '.join(where)} "
                   "ORDER BY l.seq DESC LIMIT ?", (*params, limit))


def touch_statuses(tx: Tx, touch_ids: list[str]) -> dict[str, str]:
    """Where each of these touches stands now: pending, executed, failed, cancelled, revoked."""
    if not touch_ids:
        return {}
    marks = ",".join("?" * len(touch_ids))
    rows = tx.rows(f"SELECT id, status FROM touches WHERE id IN ({marks})", tuple(touch_ids))
    return {r["id"]: r["status"] for r in rows}
