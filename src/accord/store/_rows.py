"""The schema, the customer row and the gate's touch reads, in the subset SQLite and PostgreSQL
share. Every other statement lives beside its table in ``store/`` (``_decisions``, ``_ledger``,
``_touches``…), each a named function taking a ``Tx``.

Backends differ only in connection handling, locking and the serial type; the rows and queries
are written once. Every hot query names one customer, so a table distributed by customer
(Citus) answers each decision inside one shard.
"""

from __future__ import annotations

import json
from typing import Any

from accord._json import dumps, jsonable
from accord.ledger import GENESIS
from accord.store._base import CustomerRow, Tx
from accord.store._ledger import FEED, NAMED_TRACE, TRACE
from accord.store._spend import SPEND_SHARDS

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
  id TEXT PRIMARY KEY, version BIGINT NOT NULL, fields TEXT NOT NULL, provenance TEXT NOT NULL,
  chain_seq BIGINT NOT NULL, chain_head TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, outcome TEXT NOT NULL,
  approval TEXT, at DOUBLE PRECISION NOT NULL, trace_id TEXT, idem_key TEXT, request_hash TEXT,
  body TEXT NOT NULL, PRIMARY KEY (customer, id));
CREATE INDEX IF NOT EXISTS decisions_id ON decisions (id);
CREATE INDEX IF NOT EXISTS decisions_approval ON decisions (approval) WHERE approval IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS decisions_idem ON decisions (customer, agent, idem_key)
  WHERE idem_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS touches (
  customer TEXT NOT NULL, id TEXT NOT NULL, decision_id TEXT NOT NULL, agent TEXT NOT NULL,
  channel TEXT NOT NULL, intent TEXT NOT NULL, action TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
  status TEXT NOT NULL, status_reason TEXT, seq BIGINT NOT NULL, proposal TEXT NOT NULL,
  PRIMARY KEY (customer, id)){clustered};
CREATE INDEX IF NOT EXISTS touches_customer_at ON touches (customer, at);
CREATE INDEX IF NOT EXISTS touches_id ON touches (id);
CREATE TABLE IF NOT EXISTS events (
  customer TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
  data TEXT NOT NULL, source TEXT, version BIGINT NOT NULL, PRIMARY KEY (customer, id));
CREATE INDEX IF NOT EXISTS events_customer_at ON events (customer, at);
CREATE TABLE IF NOT EXISTS claims (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, purpose TEXT NOT NULL,
  until DOUBLE PRECISION NOT NULL, created_at DOUBLE PRECISION NOT NULL,
  released INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (customer, id)){clustered};
CREATE TABLE IF NOT EXISTS commitments (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, product TEXT NOT NULL,
  offer TEXT NOT NULL, valid_until DOUBLE PRECISION NOT NULL, decision_id TEXT NOT NULL,
  touch_id TEXT, status TEXT NOT NULL, PRIMARY KEY (customer, id)){clustered};
CREATE TABLE IF NOT EXISTS spend (
  agent TEXT NOT NULL, day TEXT NOT NULL, shard INTEGER NOT NULL,
  usd DOUBLE PRECISION NOT NULL, tokens BIGINT NOT NULL, PRIMARY KEY (agent, day, shard))
  {clustered};
CREATE TABLE IF NOT EXISTS traces (
  trace_id TEXT PRIMARY KEY, usd DOUBLE PRECISION NOT NULL, tokens BIGINT NOT NULL,
  count BIGINT NOT NULL){clustered};
CREATE TABLE IF NOT EXISTS ledger (
  seq {serial}, chain TEXT NOT NULL, chain_seq BIGINT NOT NULL, kind TEXT NOT NULL,
  at DOUBLE PRECISION NOT NULL, customer TEXT, agent TEXT, trace_id TEXT, parent_id TEXT,
  ref TEXT, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
  {ledger_key});
{ledger_seq};
CREATE INDEX IF NOT EXISTS ledger_trace ON ledger (trace_id) {own_trace};
CREATE TABLE IF NOT EXISTS personal (
  customer TEXT NOT NULL, ref TEXT NOT NULL, salt TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (customer, ref)){clustered};
CREATE INDEX IF NOT EXISTS personal_ref ON personal (ref);
CREATE INDEX IF NOT EXISTS ledger_ref ON ledger (ref) WHERE ref IS NOT NULL;
CREATE TABLE IF NOT EXISTS seats (
  id TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL, updated_by TEXT);
CREATE TABLE IF NOT EXISTS policies (
  version TEXT PRIMARY KEY, text TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL,
  applied_by TEXT);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS requests (
  principal TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL,
  response TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (principal, key));
CREATE TABLE IF NOT EXISTS handoffs (
  id TEXT PRIMARY KEY, sender TEXT NOT NULL, receiver TEXT NOT NULL, kind TEXT NOT NULL,
  customer TEXT, trace_id TEXT, parent_id TEXT, payload TEXT NOT NULL, artifacts TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL, due_at DOUBLE PRECISION, read_at DOUBLE PRECISION,
  acked_at DOUBLE PRECISION, via TEXT);
CREATE INDEX IF NOT EXISTS handoffs_receiver ON handoffs (receiver, acked_at);
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
  kinds TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL,
  next_at DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, last_error TEXT,
  created_at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at);
CREATE TABLE IF NOT EXISTS outbox (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, channel TEXT NOT NULL,
  address TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, due_at DOUBLE PRECISION NOT NULL, lease_owner TEXT,
  sender TEXT, ref TEXT, last_error TEXT, created_at DOUBLE PRECISION NOT NULL,
  sent_at DOUBLE PRECISION, PRIMARY KEY (customer, id));
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, due_at);
CREATE INDEX IF NOT EXISTS outbox_address ON outbox (channel, address);
CREATE TABLE IF NOT EXISTS send_rates (
  sender TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS scheduled (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, status TEXT NOT NULL,
  due_at DOUBLE PRECISION NOT NULL, deadline DOUBLE PRECISION NOT NULL, proposal TEXT NOT NULL,
  approval TEXT, decisions TEXT NOT NULL, outcome TEXT, note TEXT,
  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (customer, id));
CREATE INDEX IF NOT EXISTS scheduled_due ON scheduled (status, due_at);
CREATE INDEX IF NOT EXISTS scheduled_id ON scheduled (id);
CREATE TABLE IF NOT EXISTS interfaces (
  agent TEXT NOT NULL, protocol TEXT NOT NULL, last_at DOUBLE PRECISION NOT NULL,
  count BIGINT NOT NULL, PRIMARY KEY (agent, protocol));
"""
"""Schema 3 writes fewer B-tree pages per decision. On SQLite the small customer-keyed tables are
``WITHOUT ROWID`` (``{clustered}``): the row lives in its primary-key B-tree, which leads with the
customer, so a customer's rows sit together and no separate rowid tree is written. (Decisions,
events, outbox and customers stay rowid tables: their rows run to kilobytes, which a ``WITHOUT
ROWID`` tree spills to overflow pages — measured, a decision then wrote more, not less.)
Indexes on columns most rows leave empty (an approval, an idempotency key, a named trace, a
ledger ``ref``) are partial, so a row without one writes nothing to them. PostgreSQL has the
same primary keys and partial indexes (its heap is not clustered; ``{clustered}`` is empty).

Schema 4 makes every hot table distributable by customer (Citus, ``accord db distribute``):
each one's primary key and unique indexes lead with the customer (``chain`` for the ledger, whose
chains are the customers' ids; ``id`` for ``customers``), and no table refers to another. On
PostgreSQL the ledger's key is ``(chain, chain_seq)``: ``seq`` stays an identity for the global
order (the feed, ``ledger_seq``) without being a key, since a key without the customer cannot be
spread over shards. SQLite keeps ``seq`` as its rowid key, which is what makes ``seq`` order
commit order there, and ``(chain, chain_seq)`` unique."""

DISTRIBUTED = {"customers": "id", "ledger": "chain", "decisions": "customer",
               "touches": "customer", "events": "customer", "claims": "customer",
               "commitments": "customer", "personal": "customer", "outbox": "customer",
               "scheduled": "customer"}
"""The hot tables, by the column that names their customer: on Citus, distributed on it and
co-located, so one customer's rows share a shard and a decision's transaction stays on one
worker."""

SPREAD = {"spend": "agent", "traces": "trace_id", "requests": "principal", "handoffs": "id",
          "deliveries": "id", "send_rates": "sender"}
"""Tables keyed by something other than a customer, distributed on their own key: an agent's
daily spend and a trace's totals span customers by nature; idempotency records, handoffs and
webhook deliveries grow with traffic but are never read inside a customer's transaction; a
sender's token bucket is written on every send, which a reference table would copy to every
node."""

REFERENCE = ("meta", "seats", "policies", "tokens", "webhooks", "interfaces", "bus_replicas")
"""Small fleet tables, read on every decision or by every replica: copied whole to every node
(Citus reference tables), so a read never leaves the node a decision runs on."""

CLUSTERED = ("touches", "claims", "commitments", "spend", "traces", "personal")
"""The tables schema 3 made ``WITHOUT ROWID`` on SQLite (rebuilt by ``sqlite_upgrade``)."""

PARTIAL = ("decisions_approval", "decisions_idem", "ledger_trace", "ledger_ref")
"""The indexes schema 3 made partial (``WHERE … IS NOT NULL``; ``NAMED_TRACE`` for traces)."""


def schema(backend: str) -> str:
    """``SCHEMA`` for ``backend`` (``sqlite`` or ``postgres``), statements separated by ``;``."""
    own_trace = f"WHERE {NAMED_TRACE}"
    if backend == "sqlite":
        return SCHEMA.format(serial="INTEGER PRIMARY KEY", clustered=" WITHOUT ROWID",
                             own_trace=own_trace, ledger_key="UNIQUE (chain, chain_seq)",
                             ledger_seq="")
    return SCHEMA.format(serial="BIGINT GENERATED BY DEFAULT AS IDENTITY", clustered="",
                         own_trace=own_trace, ledger_key="PRIMARY KEY (chain, chain_seq)",
                         ledger_seq="CREATE INDEX IF NOT EXISTS ledger_seq ON ledger (seq)")


def _create_index(name: str) -> str:
    return next(s for s in schema("postgres").split(";")
                if f" INDEX IF NOT EXISTS {name} " in s).strip()


MIGRATIONS: dict[int, str] = {
    3: ";".join(f"DROP INDEX IF EXISTS {name};{_create_index(name)}" for name in PARTIAL),
    # the ledger's key leads with its chain (the customer) instead of the global seq
    4: ("ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_pkey, "
        "DROP CONSTRAINT IF EXISTS ledger_chain_chain_seq_key, "
        "ADD CONSTRAINT ledger_pkey PRIMARY KEY (chain, chain_seq)"),
}
"""PostgreSQL: the statements that bring an existing store from the version before to this one,
run after ``SCHEMA`` (whose ``IF NOT EXISTS`` leaves older index definitions alone)."""


def sqlite_upgrade(conn: Any, have: int) -> None:
    """Bring an existing SQLite store from schema ``have`` to ``SCHEMA_VERSION`` inside the
    caller's write transaction: each table in ``CLUSTERED`` is renamed, created again ``WITHOUT
    ROWID`` and refilled row for row; the ``PARTIAL`` indexes are created again partial."""
    if have >= 3:
        return
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    moved = [t for t in CLUSTERED if t in tables]
    old_indexes = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
        f"({','.join('?' * len(moved))})", moved)] if moved else []
    for name in [*old_indexes, *PARTIAL]:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    for t in moved:
        conn.execute(f"ALTER TABLE {t} RENAME TO {t}_v2")
    for stmt in schema("sqlite").split(";"):
        if stmt.strip():
            conn.execute(stmt)
    for t in moved:
        cols = ", ".join(r[1] for r in conn.execute(f"PRAGMA table_info({t}_v2)"))
        conn.execute(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM {t}_v2")
        conn.execute(f"DROP TABLE {t}_v2")

POSTGRES_SCHEMA = """
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS tx BIGINT;
ALTER TABLE ledger ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX IF NOT EXISTS ledger_feed ON ledger ((COALESCE(tx, 0)), seq);
CREATE TABLE IF NOT EXISTS bus_replicas (
  channel TEXT NOT NULL, replica TEXT NOT NULL, until DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (channel, replica))
"""
"""PostgreSQL only (schema 2): each ledger row keeps the id of the transaction that wrote it.
Sequence values are taken at insert, not at commit, so on PostgreSQL a lower ``seq`` can commit
after a higher one; the feed orders by (writer transaction, seq) and serves only rows whose
writer is older than every transaction still running, a set no later commit can add to.
Rows written before schema 2 have no ``tx`` and count as 0 (all committed before it).
``bus_replicas`` (schema 4) lists the replicas listening for live updates, each with a lease
(``accord.store.bus_pg``): a replica alone on its database sends no notifications."""

def new_customer(customer: str, now: float) -> tuple[str, tuple[Any, ...]]:
    return ("INSERT INTO customers (id, version, fields, provenance, chain_seq, chain_head, "
            "created_at) VALUES (?, 0, '{}', '{}', 0, ?, ?) ON CONFLICT (id) DO NOTHING",
            (customer, GENESIS, now))


def customer_row(row: dict[str, Any]) -> CustomerRow:
    return CustomerRow(row["id"], int(row["version"]), json.loads(row["fields"]),
                       json.loads(row["provenance"]), int(row["chain_seq"]), row["chain_head"])


def save_chain(tx: Tx, row: CustomerRow) -> None:
    """Save only the ledger chain's head: what a decision changes on the customer row."""
    tx.execute("UPDATE customers SET chain_seq = ?, chain_head = ? WHERE id = ?",
               (row.chain_seq, row.chain_head, row.id))


def save_customer(tx: Tx, row: CustomerRow) -> None:
    tx.execute("UPDATE customers SET version = ?, fields = ?, provenance = ?, chain_seq = ?, "
               "chain_head = ? WHERE id = ?",
               (row.version, dumps(row.fields), dumps(row.provenance), row.chain_seq,
                row.chain_head, row.id))


TOUCH_COLUMNS = "id, agent, channel, intent, at, status, seq"


def touches_near(tx: Tx, customer: str, lo: float, hi: float, *, at: float | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """Live touches in (lo, hi), by time; with ``limit``, only the ``limit`` nearest ``at``
    (read as two index range scans, so a busy customer costs ``limit`` rows, not all)."""
    live = "AND status IN ('pending', 'executed')"
    if at is None or limit is None:
        return tx.rows(f"SELECT {TOUCH_COLUMNS} FROM touches WHERE customer = ? AND at > ? "
                       f"AND at < ? {live} ORDER BY at", (customer, lo, hi))
    before = tx.rows(f"SELECT {TOUCH_COLUMNS} FROM touches WHERE customer = ? AND at > ? "
                     f"AND at <= ? {live} ORDER BY at DESC LIMIT ?", (customer, lo, at, limit))
    after = tx.rows(f"SELECT {TOUCH_COLUMNS} FROM touches WHERE customer = ? AND at > ? "
                    f"AND at < ? {live} ORDER BY at LIMIT ?", (customer, at, hi, limit))
    if len(before) + len(after) > limit:
        nearest = sorted(before + after, key=lambda r: abs(r["at"] - at))[:limit]
        return sorted(nearest, key=lambda r: r["at"])
    return before[::-1] + after


def pending_touches(tx: Tx, customer: str, since: float) -> list[dict[str, Any]]:
    return tx.rows("SELECT id, decision_id, agent, at, seq, proposal FROM touches "
                   "WHERE customer = ? AND at > ? AND status = 'pending' ORDER BY seq",
                   (customer, since))


__all__ = ["CLUSTERED", "FEED", "GENESIS", "MIGRATIONS", "NAMED_TRACE", "PARTIAL",
           "POSTGRES_SCHEMA", "SCHEMA", "SCHEMA_VERSION", "SPEND_SHARDS", "TOUCH_COLUMNS",
           "TRACE", "customer_row", "dumps", "jsonable", "new_customer",
           "pending_touches", "save_chain", "save_customer", "schema", "sqlite_upgrade",
           "touches_near"]
