"""``accord db distribute``: the Citus statements cover every table of the real schema, each
distributed table by a column its keys all lead with, and ``--run`` refuses clearly where
Citus is missing."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from accord import Accord
from accord.cli import main
from accord.policy import Policy
from accord.store import _rows

ON_POSTGRES = [pytest.mark.postgres,
               pytest.mark.parametrize("store_url", ["postgres"], indirect=True)]
DISTRIBUTE = re.compile(r"^SELECT create_distributed_table\('[^.]+\.(\w+)', '(\w+)', "
                        r"colocate_with => '([^']+)'\);$")
REFERENCE = re.compile(r"^SELECT create_reference_table\('[^.]+\.(\w+)'\);$")


def distribute(url: str, *more: str) -> Result:
    return CliRunner().invoke(main, ["db", "distribute", "--db", url, *more])


def _keys(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, list[str]]]:
    """(index, its columns) for the table's primary key and every unique index."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, array_agg(a.attname ORDER BY k.n) "
        "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisunique GROUP BY 1", (table,)).fetchall()
    return [(name, list(cols)) for name, cols in rows]


@ON_POSTGRES[0]
@ON_POSTGRES[1]
def test_every_table_is_distributed_by_a_column_its_keys_lead_with_or_is_a_reference_table(
        store_url: str, policy: Policy) -> None:
    with Accord.open(store_url, policy=policy) as acc:
        go = acc.propose("upsell", "c-1", channel="email", intent="upsell", cost=0.5,
                         trace_id="t-1", offer={"product": "pro"})
        assert go.touch_id is not None
        acc.report_outcome(go.touch_id, "executed")
        acc.record_event("c-1", "ticket_opened", data={"subject": "refund"})
        acc.claim("churn-guard", "c-1", "renewal", until=go.at.timestamp() + 3600)
    result = distribute(store_url)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("--")]
    distributed: dict[str, tuple[str, str]] = {}
    reference: set[str] = set()
    for line in lines:
        if m := DISTRIBUTE.match(line):
            distributed[m[1]] = (m[2], m[3].rsplit(".", 1)[-1])
        elif m := REFERENCE.match(line):
            reference.add(m[1])
        else:
            raise AssertionError(f"not a Citus statement: {line}")
    assert lines.index(next(x for x in lines if ".customers'" in x)) == 0  # co-located after it
    with psycopg.connect(store_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        assert not set(distributed) & reference
        filled = 0
        assert set(distributed) | reference == tables
        for table, (column, colocated) in distributed.items():
            keys = _keys(conn, table)
            assert any(name.endswith("_pkey") for name, _ in keys), table
            for name, cols in keys:
                assert column in cols, f"{name} on {table} lacks {column}: {cols}"
            if table in _rows.DISTRIBUTED:  # the hot tables: one shard per customer
                assert colocated in ("customers", "none" if table == "customers" else "")
                values = {r[0] for r in conn.execute(f"SELECT DISTINCT {column} FROM {table}")}
                assert values <= {"c-1"} | {v for v in values if v.startswith("_")}, table
                filled += "c-1" in values
        assert filled >= 6  # the column holds the customer in every table that has rows
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND "
                            "connamespace = current_schema()::regnamespace").fetchone() == (0,)
    assert {"touches", "decisions", "ledger", "events", "claims"} <= set(distributed)
    assert {"seats", "policies", "meta"} <= reference


@ON_POSTGRES[0]
@ON_POSTGRES[1]
def test_run_without_citus_says_so_and_how_to_install_it(store_url: str,
                                                          policy: Policy) -> None:
    Accord.open(store_url, policy=policy).close()
    result = distribute(store_url, "--run")
    assert result.exit_code == 2
    assert "--run needs the citus extension, which is not installed" in result.output
    assert "CREATE EXTENSION citus" in result.output and "citus_add_node" in result.output
    with psycopg.connect(store_url) as conn:  # and nothing was attempted
        assert conn.execute("SELECT to_regclass('customers') IS NOT NULL").fetchone() == (True,)


@ON_POSTGRES[0]
@ON_POSTGRES[1]
def test_an_old_store_or_a_stray_table_is_refused_by_name(store_url: str,
                                                          policy: Policy) -> None:
    Accord.open(store_url, policy=policy).close()
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE leftovers (id TEXT PRIMARY KEY)")
        stray = distribute(store_url)
        conn.execute("DROP TABLE leftovers")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
        old = distribute(store_url)
    assert stray.exit_code == 2 and "does not know how to place: leftovers" in stray.output
    assert old.exit_code == 2 and "is at version 3" in old.output


def test_a_sqlite_store_cannot_be_distributed() -> None:
    result = distribute("accord.db")
    assert result.exit_code == 2 and "not a PostgreSQL URL" in result.output
