"""The floor ``accord bench --http`` measures Accord against: a bare HTTP endpoint doing a
decision's transaction on PostgreSQL with nothing around it.

One raw ASGI callable under the same uvicorn, ``POST /v1/proposals`` only: parse the JSON body,
then on an async psycopg pool of the store's size, on the event loop, one pipelined transaction with
the statements a decision sends (create-or-lock the customer, read its touches, claims and the
agent's spend, insert a decision, a touch and a ledger entry of a decision's size, extend the
customer's chain), and answer a JSON body of a decision's size. No auth, no validation, no
policy, no threads: what the machine, the driver, uvicorn and PostgreSQL cost for that work.
Its tables live in a schema of their own (``accord_floor_<random>``), so Accord's are never
touched, and it drops that schema when it stops.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

SCHEMA = f"accord_floor_{uuid.uuid4().hex[:12]}"
_TABLES = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.customers (id TEXT PRIMARY KEY, "
    "chain_seq BIGINT NOT NULL DEFAULT 0, chain_head TEXT NOT NULL DEFAULT '', "
    "created DOUBLE PRECISION NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.touches (customer TEXT, id TEXT, decision_id TEXT, "
    "agent TEXT, channel TEXT, intent TEXT, at DOUBLE PRECISION, status TEXT, body TEXT, "
    "PRIMARY KEY (customer, id))",
    f"CREATE INDEX IF NOT EXISTS floor_touches_at ON {SCHEMA}.touches (customer, at)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.claims (customer TEXT, agent TEXT, "
    "until DOUBLE PRECISION, released BOOLEAN, PRIMARY KEY (customer, agent))",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.spend (agent TEXT, day TEXT, usd DOUBLE PRECISION, "
    "PRIMARY KEY (agent, day))",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.decisions (customer TEXT, id TEXT, agent TEXT, "
    "outcome TEXT, at DOUBLE PRECISION, body TEXT, PRIMARY KEY (customer, id))",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.ledger (chain TEXT, chain_seq BIGINT, kind TEXT, "
    "at DOUBLE PRECISION, body TEXT, prev_hash TEXT, hash TEXT, PRIMARY KEY (chain, chain_seq))",
)
_BODY = "{" + "x" * 900 + "}"


def prepare(url: str) -> None:
    """Create the floor's tables (idempotent)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in _TABLES:
            conn.execute(statement)


def drop(url: str) -> None:
    """Drop the floor's schema and everything in it."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def build(url: str, pool_size: int = 10) -> Any:
    """The floor's ASGI app over an async pool of ``pool_size`` connections."""
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(url, min_size=pool_size, max_size=pool_size, open=False)
    counter = iter(range(1 << 62))

    async def decide(body: dict[str, Any]) -> bytes:
        customer, agent, i, at = str(body["customer"]), str(body["agent"]), next(counter), \
            time.time()
        did, s = f"d{i}-{customer}", SCHEMA
        async with pool.connection() as conn, conn.pipeline(), conn.transaction():
            # pipelined, as the store defers its writes: one round trip for the reads, one more
            # for the writes and the commit
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
                               (customer, did, agent, at, _BODY))
            await conn.execute(f"INSERT INTO {s}.touches VALUES (%s,%s,%s,%s,%s,%s,%s,"
                               "'pending',%s)", (customer, f"t{i}", did, agent,
                                                 body.get("channel"), body.get("intent"), at,
                                                 _BODY[:300]))
            await conn.execute(f"INSERT INTO {s}.ledger VALUES (%s,%s,'decision',%s,%s,%s,%s)",
                               (customer, seq, at, _BODY, "0" * 64, "1" * 64))
            await conn.execute(f"UPDATE {s}.customers SET chain_head = %s WHERE id = %s",
                               ("1" * 64, customer))
        return json.dumps({"id": did, "outcome": "go", "proposal": body,
                           "reasons": _BODY}).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await pool.open(wait=True)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await pool.close()
                    drop(url)  # here: uvicorn ends its process by re-raising SIGTERM
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            status, out = 200, await decide(json.loads(raw))
        else:
            status, out = 200, b'{"ok":true}'
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})

    return app


if __name__ == "__main__":  # python -m accord.http._floor URL PORT
    import uvicorn

    _url, _port = sys.argv[1], int(sys.argv[2])
    prepare(_url)
    uvicorn.run(build(_url), host="127.0.0.1", port=_port, log_level="warning",
                access_log=False)
