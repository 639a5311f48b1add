"""The hot path touches one customer per statement, so each statement of a decision can be
routed to one shard when the hot tables are distributed by customer (``accord db distribute``).

Every statement the store sends to PostgreSQL is recorded through the driver's own hook (a
psycopg cursor class); each one on a distributed table must name exactly one value of the
table's distribution column — inside a customer's transaction, that customer — and each one on
a reference table must be a read."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from accord import Accord
from accord.model import Outcome
from accord.policy import Policy
from accord.store import _rows
from accord.store.postgres import PostgresStore

from ..conftest import Clock

ON_POSTGRES = [pytest.mark.postgres,
               pytest.mark.parametrize("store_url", ["postgres"], indirect=True)]

Statement = tuple[int, str, tuple[Any, ...]]
SENT: list[Statement] = []
_GUARD = threading.Lock()


class Recording(psycopg.Cursor[Any]):
    """A psycopg cursor that notes each statement (and its connection) before sending it."""

    def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
        text = query if isinstance(query, str) else query.as_string(self.connection)
        with _GUARD:
            SENT.append((id(self.connection), text, tuple(params or ())))
        return super().execute(query, params, **kw)


KEYS = {**_rows.DISTRIBUTED, **_rows.SPREAD}
TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+(?!SET\b)([a-z_]+)", re.IGNORECASE)
OWNER_LOOKUP = re.compile(r"^SELECT customer FROM ([a-z_]+) WHERE id = %s$")
"""Finding which customer owns an id (a touch, for ``report_outcome``): the one read that
cannot name a customer, since the caller names only the id. Listed, not hidden: see
``test_the_hot_path_names_one_customer_per_statement``."""
MANY = object()
SKIP = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SET LOCAL|SELECT set_config|SELECT pg_notify)",
                  re.IGNORECASE)


def _values_clause(sql: str) -> list[str] | None:
    """The items of an INSERT's ``VALUES (...)``, split at top-level commas."""
    at = sql.upper().find("VALUES (")
    if at < 0:
        return None
    depth, item, items, quoted = 0, "", [], False
    for ch in sql[at + len("VALUES ("):]:
        if ch == "'":
            quoted = not quoted
        if not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            if depth == 0:
                items.append(item.strip())
                return items
            depth -= 1
        if not quoted and ch == "," and depth == 0:
            items.append(item.strip())
            item = ""
            continue
        item += ch
    return None


def key_values(sql: str, params: tuple[Any, ...], column: str) -> list[Any]:
    """Every value the statement gives ``column``: in an INSERT's column list, and in each
    ``column = %s`` (``MANY`` for ``column IN (...)``, which names several)."""
    found: list[Any] = []
    insert = re.match(r"\s*INSERT INTO [a-z_]+ \(([^)]*)\)", sql, re.IGNORECASE)
    items = _values_clause(sql) if insert else None
    if insert and items is not None:
        columns = [c.strip() for c in insert[1].split(",")]
        if column in columns:
            i = columns.index(column)
            before = sql[:sql.upper().find("VALUES (")].count("%s")
            before += sum(item.count("%s") for item in items[:i])
            found.append(params[before] if items[i] == "%s" else items[i])
    for m in re.finditer(rf"(?<![\w.]){column}\s*=\s*%s", sql):
        found.append(params[sql[:m.start()].count("%s")])
    if re.search(rf"(?<![\w.]){column}\s+IN\s*\(", sql, re.IGNORECASE):
        found.append(MANY)
    return found


def problems(sent: list[Statement]) -> tuple[list[str], list[str]]:
    """What breaks "one customer per statement" in ``sent``, and the owner lookups seen."""
    bad: list[str] = []
    lookups: list[str] = []
    locked: dict[int, Any] = {}  # connection -> the customer its open transaction locked
    for conn, sql, params in sent:
        if re.match(r"\s*(COMMIT|ROLLBACK)", sql):
            locked.pop(conn, None)
        if SKIP.match(sql):
            continue
        if sql.startswith("INSERT INTO customers ") and conn not in locked:
            locked[conn] = params[0]  # lock(): the first statement after BEGIN
        for table in {t.lower() for t in TABLE.findall(sql)}:
            if table in KEYS:
                values = key_values(sql, params, KEYS[table])
                if OWNER_LOOKUP.match(sql):
                    lookups.append(table)
                elif len(values) == 0 or MANY in values or len(set(values)) != 1:
                    bad.append(f"{table}: not one {KEYS[table]}: {sql} {params}")
                elif (table in _rows.DISTRIBUTED and conn in locked
                      and values[0] != locked[conn]):
                    bad.append(f"{table}: {values[0]!r} inside {locked[conn]!r}'s "
                               f"transaction: {sql}")
            elif table in _rows.REFERENCE:
                if not sql.lstrip().upper().startswith("SELECT"):
                    bad.append(f"{table}: a reference table written on the hot path: {sql}")
            else:
                bad.append(f"{table}: neither distributed nor a reference table: {sql}")
    return bad, lookups


@pytest.fixture
def recorded(store_url: str, policy: Policy, clock: Clock) -> Iterator[Accord]:
    store = PostgresStore(store_url, cursor_factory=Recording)
    acc = Accord(store, policy, clock=clock)
    try:
        acc.propose("email-cadence", "warm-up", channel="email", intent="nurture")
        yield acc
    finally:
        acc.close()
        SENT.clear()


@ON_POSTGRES[0]
@ON_POSTGRES[1]
def test_the_hot_path_names_one_customer_per_statement(recorded: Accord,
                                                        clock: Clock) -> None:
    acc = recorded
    with _GUARD:
        SENT.clear()
    with acc.subscribe():  # someone listens, so the path builds and publishes its messages
        first = acc.propose("upsell", "c-1", channel="email", intent="upsell", cost=0.4,
                            trace_id="campaign-9", idempotency_key="k-1",
                            offer={"product": "pro", "discount_pct": 10})
        again = acc.propose("upsell", "c-1", channel="email", intent="upsell", cost=0.4,
                            trace_id="campaign-9", idempotency_key="k-1",
                            offer={"product": "pro", "discount_pct": 10})
        deferred = acc.propose("email-cadence", "c-1", channel="email", intent="nurture")
        assert (first.outcome, again.id, deferred.outcome) == (Outcome.GO, first.id,
                                                               Outcome.DEFER)
        assert first.touch_id is not None
        acc.report_outcome(first.touch_id, "executed", agent="upsell")
        acc.record_event("c-2", "ticket_opened", data={"subject": "refund"})
        ctx = acc.context("c-2")
        acc.update_context("c-2", {"plan": "pro"}, expected_version=ctx.version)
        acc.claim("churn-guard", "c-3", "renewal call", until=clock() + 3600)
        acc.release("churn-guard", "c-3")
        clock.advance(86400 * 2)
        acc.propose("churn-guard", "c-3", channel="email", intent="retain")
    with _GUARD:
        sent = list(SENT)
    tables = {t.lower() for _, sql, _ in sent for t in TABLE.findall(sql)}
    assert {"decisions", "touches", "ledger", "customers", "events", "claims", "commitments",
            "spend", "traces", "meta"} <= tables  # the path was exercised
    bad, lookups = problems(sent)
    assert bad == []
    assert lookups == ["touches"]  # report_outcome finds the touch's customer by its id


def test_the_check_catches_a_statement_over_several_customers() -> None:
    conn = 1
    bad, _ = problems([
        (conn, "BEGIN ISOLATION LEVEL READ COMMITTED", ()),
        (conn, "INSERT INTO customers (id, version) VALUES (%s, 0)", ("c-1",)),
        (conn, "SELECT * FROM touches WHERE customer = %s", ("c-1",)),  # fine
        (conn, "SELECT * FROM touches WHERE at > %s", (1.0,)),  # every customer
        (conn, "SELECT * FROM claims WHERE customer IN (%s, %s)", ("c-1", "c-2")),
        (conn, "UPDATE decisions SET approval = %s WHERE customer = %s", ("x", "c-2")),
        (conn, "INSERT INTO ledger (chain, chain_seq) VALUES (%s, %s)", ("c-9", 1)),
        (conn, "UPDATE seats SET status = %s WHERE id = %s", ("paused", "a")),
        (conn, "SELECT * FROM mystery", ()),
        (conn, "COMMIT", ()),
    ])
    assert [b.split(":")[0] for b in bad] == ["touches", "claims", "decisions", "ledger",
                                              "seats", "mystery"]
