"""The statements that spread a PostgreSQL store over a Citus cluster by customer
(``accord db distribute``), built from the schema's own classification (``_rows``:
``DISTRIBUTED``, ``SPREAD``, ``REFERENCE``), and the catalog reads that check a store before
it is distributed (docs/storage.md, "Past one database")."""

from __future__ import annotations

import re
from typing import Any

from accord._errors import InvalidInput, StoreUnavailable
from accord.store import _rows

INSTALL = ("install Citus on the coordinator and on every worker (packages for your PostgreSQL "
           "major version: https://docs.citusdata.com/en/stable/installation/, e.g. "
           "`apt-get install postgresql-16-citus-12.1`, or the citusdata/citus image), set "
           "shared_preload_libraries = 'citus' and restart, run CREATE EXTENSION citus in this "
           "database on every node, add the workers with SELECT citus_add_node('host', 5432), "
           "then run this again; without --run the statements are only printed")


def _name(schema: str, table: str) -> str:
    """``schema.table`` as a regclass literal's text, quoting a schema that needs it."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        return f"{schema}.{table}"
    quoted = schema.replace('"', '""').replace("'", "''")
    return f'"{quoted}".{table}'


def plan(schema: str) -> list[tuple[str, str]]:
    """(table, statement) for every table of the schema, in the order they must run: the
    customer-keyed tables co-located with ``customers``, the tables spread by their own key,
    then the reference tables."""
    head = _name(schema, "customers")
    out = [("customers", f"SELECT create_distributed_table('{head}', 'id', "
                         "colocate_with => 'none')")]
    for table, column in _rows.DISTRIBUTED.items():
        if table != "customers":
            out.append((table, f"SELECT create_distributed_table('{_name(schema, table)}', "
                               f"'{column}', colocate_with => '{head}')"))
    for table, column in _rows.SPREAD.items():
        out.append((table, f"SELECT create_distributed_table('{_name(schema, table)}', "
                           f"'{column}', colocate_with => 'none')"))
    for table in _rows.REFERENCE:
        out.append((table, f"SELECT create_reference_table('{_name(schema, table)}')"))
    return out


def inspect(conn: Any, where: str) -> tuple[str, list[str]]:
    """The store's schema name and its tables; refuses a store this Accord would not open
    as current or that holds tables the plan does not place."""
    schema, meta = conn.execute(
        "SELECT current_schema(), to_regclass('meta') IS NOT NULL").fetchone()
    if schema is None or not meta:
        raise InvalidInput(f"{where} holds no Accord store (no meta table in schema {schema})",
                           where="--db", hint="point --db at the store's database and schema "
                           "(options=-csearch_path=...)")
    found = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    version = int(found[0]) if found else 0
    if version != _rows.SCHEMA_VERSION:
        raise InvalidInput(
            f"the store in schema {schema} is at version {version}; distributing needs version "
            f"{_rows.SCHEMA_VERSION}, whose keys all lead with the customer", where="--db",
            hint="start this Accord on it once (accord serve, or any command that opens the "
                 "store) so it upgrades, then distribute")
    tables = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")]
    placed = {t for t, _ in plan(schema)}
    stray = sorted(set(tables) - placed)
    if stray:
        raise InvalidInput(
            f"schema {schema} holds tables this Accord does not know how to place: "
            f"{', '.join(stray)}", where="--db",
            hint="move them to another schema, or distribute them yourself first")
    return schema, tables


def require_citus(conn: Any, where: str) -> None:
    """Refuse to run where the citus extension is not created in this database."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone():
        return
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'citus'").fetchone()
    state = ("is installed on the server but not created in this database" if available
             else "is not installed")
    raise StoreUnavailable(f"--run needs the citus extension, which {state} on {where}",
                           where="--run", hint=INSTALL)




def distributed(conn: Any) -> set[str]:
    """The tables of the store's schema Citus already distributes."""
    return {str(r[0]).rsplit(".", 1)[-1] for r in conn.execute(
        "SELECT logicalrelid::regclass::text FROM pg_dist_partition p JOIN pg_class c "
        "ON c.oid = p.logicalrelid WHERE c.relnamespace = current_schema()::regnamespace")}
