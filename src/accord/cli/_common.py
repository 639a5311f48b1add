"""What every command shares: --db/--policy/--json options, output, and error reporting."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from accord._errors import AccordError

F = TypeVar("F", bound=Callable[..., Any])

db_option = click.option("--db", envvar="ACCORD_DB", default="accord.db", show_default=True,
                         help="SQLite file or postgresql:// URL ($ACCORD_DB).")
policy_option = click.option("--policy", envvar="ACCORD_POLICY", default="accord.yaml",
                             show_default=True, help="Policy file ($ACCORD_POLICY).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def store_options(f: F) -> F:
    return db_option(policy_option(f))


def open_accord(db: str, policy: str) -> Any:
    from accord.service import Accord

    return Accord.open(db, policy=policy)


def require_seat(agent: str, db: str, policy: str) -> None:
    """Refuse a token for a seat that neither the policy file nor the store's registry knows, or
    that is retired: such a token would only ever be refused, and silently."""
    from accord._errors import InvalidInput

    if Path(policy).exists():
        with open_accord(db, policy) as acc:
            seats = {s.id: s.status for s in acc.seats()}
    else:  # no file here (an operator's machine): the registry the servers keep is enough
        from accord.store import _views, open_store

        store = open_store(db)
        try:
            with store.read() as tx:
                seats = _views.seat_statuses(tx)
        finally:
            store.close()
    where = f"{policy} and {db}" if Path(policy).exists() else db
    if agent not in seats:
        known = ", ".join(sorted(seats)) or "none"
        raise InvalidInput(
            f"no seat {agent!r} in {where} (seats: {known})", where="--agent",
            hint="declare it under agents: in the policy file (pass it with --policy) or "
                 "register it with `accord seat register`, then create its token")
    if seats[agent] == "retired":
        raise InvalidInput(f"seat {agent!r} is retired", where="--agent",
                           hint="a retired seat cannot act; register a new seat instead")


def echo_json(value: Any) -> None:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
    click.echo(json.dumps(value, indent=2, default=str))


def friendly(f: F) -> F:
    """Turn Accord's errors into one clear message and exit code 2, not a traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except AccordError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
