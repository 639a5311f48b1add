"""Schema 3 dropped index entries the hot path did not need; every query still finds its rows
through an index, never by scanning a table that grows with decisions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from accord import Accord
from accord.policy import Policy
from accord.store import _rows
from accord.store.sqlite import PAGE_SIZE

GROWING = ("decisions", "touches", "ledger", "events")

QUERIES = {
    "a trace": (_rows.TRACE, ("t", "t")),
    "pending approvals": ("SELECT body FROM decisions WHERE approval = 'pending' ORDER BY at", ()),
    "a retried idempotency key": ("SELECT body, request_hash FROM decisions WHERE customer = ? "
                                  "AND agent = ? AND idem_key = ?", ("c", "a", "k")),
    "a decision by id": ("SELECT body FROM decisions WHERE id = ?", ("d",)),
    "a touch by id": ("SELECT * FROM touches WHERE id = ?", ("t",)),
    "a decision's ledger entries": ("SELECT * FROM ledger WHERE ref = ? AND kind IN "
                                    "('decision', 'approval')", ("d",)),
    "the touches in a window": (f"SELECT {_rows.TOUCH_COLUMNS} FROM touches WHERE customer = ? "
                                "AND at > ? AND at < ?", ("c", 0.0, 1.0)),
    "a customer's chain": ("SELECT * FROM ledger WHERE chain = ? ORDER BY chain_seq", ("c",)),
}


@pytest.fixture(scope="module")
def plan_db(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for stmt in _rows.schema("sqlite").split(";"):
        if stmt.strip():
            conn.execute(stmt)
    return conn


@pytest.mark.parametrize("name", list(QUERIES))
def test_every_lookup_reads_through_an_index(plan_db: sqlite3.Connection, name: str) -> None:
    sql, params = QUERIES[name]
    plan = [row[3] for row in plan_db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    scans = [step for step in plan if step.startswith("SCAN") and
             any(f" {table}" in step for table in GROWING)]
    assert not scans, f"{name}: {plan}"
    assert any("USING" in step for step in plan), f"{name}: {plan}"


def test_a_new_store_has_small_pages_and_an_existing_file_keeps_its_own(
        tmp_path: Path, policy: Policy) -> None:
    Accord.open(tmp_path / "new.db", policy=policy).close()
    old = sqlite3.connect(tmp_path / "old.db")
    old.execute("PRAGMA page_size=4096")
    old.execute("CREATE TABLE t (x)")
    old.close()
    with Accord.open(tmp_path / "old.db", policy=policy) as acc:
        acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    sizes = {name: sqlite3.connect(tmp_path / name).execute("PRAGMA page_size").fetchone()[0]
             for name in ("new.db", "old.db")}
    assert sizes == {"new.db": PAGE_SIZE, "old.db": 4096}
