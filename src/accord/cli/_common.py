"""What every command shares: --db/--policy/--json options, output, and error reporting."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
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
