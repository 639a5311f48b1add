"""The bare transactions ``accord bench`` measures Accord against, and its bulk loads: the
statements one decision sends, hand-written with no logic between, on SQLite (``sqlite_bare``)
and on PostgreSQL (the HTTP floor's ``floor_decision``, in a schema of its own so Accord's
tables are never touched).

Nothing here serves traffic; these are yardsticks. Keep them doing what a decision does (the
reads of ``Accord._snapshot``, the writes of ``Accord._record``) when that changes.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from accord.store import _rows

BODY = "{" + "x" * 900 + "}"
"""A decision's body, about the size of a real one."""


def sqlite_bare(path: str, customers: int, durability: str, t0: float
                ) -> tuple[Callable[[int], None], Callable[[], None]]:
    """The same reads and writes as one decision on a new SQLite file at ``path`` with
    Accord's layout: ``one(i)`` runs decision ``i``; the second callable closes the file."""
    from accord.store.sqlite import PAGE_SIZE

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # the same file layout as Accord's
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={durability.upper()}")
    for stmt in _rows.schema("sqlite").split(";"):
        if stmt.strip():
            conn.execute(stmt)
    rnd = random.Random(7)
    now = [t0]

    def one(i: int) -> None:
        now[0] += 37.0
        c, at = f"c{rnd.randrange(customers)}", now[0]
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO customers VALUES (?, 0, '{}', '{}', 0, '', ?) "
                     "ON CONFLICT (id) DO NOTHING", (c, at))
        conn.execute("SELECT * FROM customers WHERE id = ?", (c,)).fetchone()
        conn.execute("SELECT value FROM meta WHERE key = ?", ("seats_version",)).fetchone()
        conn.execute("SELECT id, agent, channel, intent, at, status, seq FROM touches WHERE "
                     "customer = ? AND at > ? AND at < ? AND status IN ('pending', 'executed')",
                     (c, at - 9e5, at + 9e5)).fetchall()
        conn.execute("SELECT * FROM claims WHERE customer = ? AND released = 0 AND until > ?",
                     (c, at)).fetchall()
        if i % 2:  # half the bench's proposals come from seats with a daily budget
            conn.execute("SELECT COALESCE(SUM(usd), 0), COALESCE(SUM(tokens), 0) FROM spend "
                         "WHERE agent = ? AND day = ?", ("a", "2026-11-23")).fetchone()
        conn.execute("INSERT INTO decisions (customer, id, agent, outcome, at, body) VALUES "
                     "(?,?,?,?,?,?)", (c, f"d{i}", "a", "go", at, BODY))
        conn.execute("INSERT INTO touches VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (c, f"t{i}", f"d{i}", "a", "email", "nurture", "message", at, "pending",
                      None, i, "{" + "x" * 300 + "}"))
        conn.execute("INSERT INTO ledger (chain, chain_seq, kind, at, body, prev_hash, hash) "
                     "VALUES (?,?,?,?,?,?,?)", (c, i, "decision", at, BODY, "0" * 64, "1" * 64))
        conn.execute("UPDATE customers SET chain_seq = ?, chain_head = ? WHERE id = ?",
                     (i, "1" * 64, c))
        conn.execute("COMMIT")

    return one, conn.close


def sqlite_populate(path: str, customers: int, touches_per: int, t0: float) -> None:
    """Fill an Accord SQLite file with ``customers`` customers of ``touches_per`` executed
    touches each, written directly (no decisions): the large store of ``bench_scale``."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    batch = 50_000
    for lo in range(0, customers, batch):
        ids = range(lo, min(lo + batch, customers))
        conn.executemany("INSERT INTO customers VALUES (?, 0, '{}', '{}', 0, ?, ?)",
                         ((f"c{i}", "0" * 64, t0 - 86400 * 30) for i in ids))
        conn.executemany(
            "INSERT INTO touches VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            ((f"c{i}", f"t{i}_{k}", f"d{i}_{k}", "email-cadence", "email", "nurture", "message",
              t0 - 86400 * (k * 11 + 2) - (i % 997), "executed", None, k, "{}")
             for i in ids for k in range(touches_per)))
    conn.execute("COMMIT")
    conn.close()


FLOOR_SCHEMA = f"accord_floor_{uuid.uuid4().hex[:12]}"
"""The PostgreSQL schema of this process's floor tables (dropped when the floor stops)."""
_FLOOR_TABLES = (
    f"CREATE SCHEMA IF NOT EXISTS {FLOOR_SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {FLOOR_SCHEMA}.customers (id TEXT PRIMARY KEY, "
    "chain_seq BIGINT NOT NULL DEFAULT 0, chain_head TEXT NOT NULL DEFAULT '', "
    "created DOUBLE PRECISION NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {FLOOR_SCHEMA}.touches (customer TEXT, id TEXT, "
    "decision_id TEXT, agent TEXT, channel TEXT, intent TEXT, at DOUBLE PRECISION, status TEXT, "
    "body TEXT, PRIMARY KEY (customer, id))",
    f"CREATE INDEX IF NOT EXISTS floor_touches_at ON {FLOOR_SCHEMA}.touches (customer, at)",
    f"CREATE TABLE IF NOT EXISTS {FLOOR_SCHEMA}.claims (customer TEXT, agent TEXT, "
    "until DOUBLE PRECISION, released BOOLEAN, PRIMARY KEY (customer, agent))",
    f"CREATE TABLE IF NOT EXISTS {FLOOR_SCHEMA}.spend (agent TEXT, day TEXT, "
    "usd DOUBLE PRECISION, PRIMARY KEY (agent, day))",
    f"CREATE TABLE IF NOT EXISTS {FLOOR_SCHEMA}.decisions (customer TEXT, id TEXT, agent TEXT, "
    "outcome TEXT, at DOUBLE PRECISION, body TEXT, PRIMARY KEY (customer, id))",
    f"CREATE TABLE IF NOT EXISTS {FLOOR_SCHEMA}.ledger (chain TEXT, chain_seq BIGINT, "
    "kind TEXT, at DOUBLE PRECISION, body TEXT, prev_hash TEXT, hash TEXT, "
    "PRIMARY KEY (chain, chain_seq))",
)


def floor_prepare(url: str) -> None:
    """Create the floor's tables (idempotent)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in _FLOOR_TABLES:
            conn.execute(statement)


def floor_drop(url: str) -> None:
    """Drop the floor's schema and everything in it."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {FLOOR_SCHEMA} CASCADE")


async def floor_decision(conn: Any, customer: str, agent: str, did: str, touch_id: str,
                         channel: Any, intent: Any, at: float) -> None:
    """One decision's statements on an async psycopg connection, pipelined as the store defers
    its writes: one round trip for the reads, one more for the writes and the commit."""
    s = FLOOR_SCHEMA
    async with conn.pipeline(), conn.transaction():
        await conn.execute(f"INSERT INTO {s}.customers (id, created) VALUES (%s, %s) "
                           "ON CONFLICT (id) DO NOTHING", (customer, at))
        locked = await conn.execute(f"UPDATE {s}.customers SET chain_seq = chain_seq + 1 "
                                    "WHERE id = %s RETURNING chain_seq", (customer,))
        touches = await conn.execute(
            f"SELECT id, agent, channel, intent, at, status FROM {s}.touches WHERE "
            "customer = %s AND at > %s AND at < %s", (customer, at - 9e5, at + 9e5))
        claims = await conn.execute(f"SELECT * FROM {s}.claims WHERE customer = %s AND NOT "
                                    "released AND until > %s", (customer, at))
        spend = await conn.execute(f"SELECT COALESCE(SUM(usd), 0) FROM {s}.spend WHERE "
                                   "agent = %s AND day = %s", (agent, "today"))
        row = await locked.fetchone()
        await touches.fetchall()
        await claims.fetchall()
        await spend.fetchone()
        seq = row[0] if row else 1
        await conn.execute(f"INSERT INTO {s}.decisions VALUES (%s,%s,%s,'go',%s,%s)",
                           (customer, did, agent, at, BODY))
        await conn.execute(f"INSERT INTO {s}.touches VALUES (%s,%s,%s,%s,%s,%s,%s,"
                           "'pending',%s)", (customer, touch_id, did, agent, channel, intent,
                                             at, BODY[:300]))
        await conn.execute(f"INSERT INTO {s}.ledger VALUES (%s,%s,'decision',%s,%s,%s,%s)",
                           (customer, seq, at, BODY, "0" * 64, "1" * 64))
        await conn.execute(f"UPDATE {s}.customers SET chain_head = %s WHERE id = %s",
                           ("1" * 64, customer))
