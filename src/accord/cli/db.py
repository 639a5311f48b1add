"""``accord db distribute``: spread a PostgreSQL store over a Citus cluster by customer.

The statements come from the schema's own classification (``accord.store._rows``:
``DISTRIBUTED``, ``SPREAD``, ``REFERENCE``), so a table the schema gains without a place in it
is refused here, not silently left on the coordinator (docs/storage.md, "Past one database").
"""

from __future__ import annotations

import click

from accord._errors import InvalidInput, StoreUnavailable
from accord.cli._common import db_option, friendly
from accord.store import _distribute, _rows


@click.group()
def db() -> None:
    """Operate the database under a PostgreSQL store."""


@db.command("distribute")
@db_option
@click.option("--run", is_flag=True,
              help="Execute the statements on the coordinator at --db (needs Citus).")
@friendly
def distribute(db: str, run: bool) -> None:
    """Print the Citus statements that spread the PostgreSQL store at --db over a cluster:
    every hot table distributed by its customer column and co-located with customers, so a
    decision's statements all run on one worker; an agent's spend, trace totals, idempotency
    records, handoffs, webhook deliveries and send-rate buckets distributed by their own key;
    seats, policies, tokens and the other small fleet tables as reference tables on every
    node. The output runs as is in psql. Tables already distributed are skipped by --run."""
    if not db.startswith(("postgresql://", "postgres://")):
        raise InvalidInput(f"{db} is not a PostgreSQL URL; only a PostgreSQL store can be "
                           "distributed", where="--db",
                           hint="pass --db postgresql://user@coordinator/dbname")
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(db)
    where = (f"PostgreSQL at {info.get('host', 'localhost')}:{info.get('port', 5432)}"
             f"/{info.get('dbname', '')}")
    try:
        conn = psycopg.connect(db, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"could not connect to {where}: {str(exc).strip()}",
                               where="--db", hint="check the URL and that the server is up"
                               ) from None
    with conn:
        schema, _ = _distribute.inspect(conn, where)
        steps = _distribute.plan(schema)
        if not run:
            click.echo(f"-- Accord schema {_rows.SCHEMA_VERSION} in {schema}: "
                       f"{len(_rows.DISTRIBUTED)} tables by customer (co-located), "
                       f"{len(_rows.SPREAD)} by their own key, {len(_rows.REFERENCE)} "
                       "reference tables. Run on the coordinator (or: accord db distribute "
                       "--run).")
            for _, statement in steps:
                click.echo(statement + ";")
            return
        _distribute.require_citus(conn, where)
        done = _distribute.distributed(conn)
        for table, statement in steps:
            if table in done:
                click.echo(f"-- {table}: already distributed")
                continue
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                raise StoreUnavailable(
                    f"{statement} failed on {where}: {str(exc).strip()}", where=table,
                    hint="the tables before it are distributed; fix the cause and run again "
                         "(done tables are skipped)") from None
            click.echo(statement + ";")
