"""Shared fixtures. Real parts only: a real SQLite file, a real PostgreSQL, real servers."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from accord import Accord
from accord._time import ManualClock
from accord.policy import Policy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_POLICY = ROOT / "src" / "accord" / "templates" / "accord.yaml"
PG_URL = os.environ.get("ACCORD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()


def wait_until(check: Any, *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class Clock(ManualClock):
    """The manual clock, starting at T0 unless told otherwise."""

    __slots__ = ()

    def __init__(self, now: float = T0) -> None:
        super().__init__(now)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return Policy.load(EXAMPLE_POLICY)


def pg_available() -> bool:
    """Whether PostgreSQL answers at PG_URL; its database is created if the server lacks it."""
    try:
        import psycopg

        try:
            with psycopg.connect(PG_URL, connect_timeout=3):
                return True
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
            _create_database()
            with psycopg.connect(PG_URL, connect_timeout=3):
                return True
    except Exception:
        return False


def _create_database() -> None:
    """CREATE DATABASE for PG_URL's database, through the server's `postgres` database."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(PG_URL)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with (psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn,
          contextlib.suppress(psycopg.errors.DuplicateDatabase)):  # another run made it
        conn.execute(f'CREATE DATABASE "{name}"')


def require_pg() -> str:
    """The PostgreSQL URL, or a loud skip — a failure under CI=true."""
    if not pg_available():
        message = f"PostgreSQL is not reachable at {PG_URL}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return PG_URL


_SCHEMAS: list[str] = []
"""Schemas this process created and has not dropped yet."""


def fresh_pg_schema() -> str:
    """A PostgreSQL URL whose search_path is a new, empty schema, dropped when the test that
    made it ends, pass or fail (see ``_drop_pg_schemas``)."""
    import psycopg

    url = require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    _SCHEMAS.append(schema)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def drop_pg_schemas() -> list[str]:
    """Drop the schemas made so far; returns those still held by a connection (kept for the
    next try). A lock timeout keeps a leaked connection from hanging the suite."""
    if not _SCHEMAS:
        return []
    import psycopg

    kept = []
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute("SET lock_timeout = '5s'")
        for schema in _SCHEMAS:
            try:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            except psycopg.errors.LockNotAvailable:
                kept.append(schema)
    _SCHEMAS[:] = kept
    return kept


@pytest.fixture(autouse=True)
def _drop_pg_schemas() -> Iterator[None]:
    """Every test leaves PostgreSQL as it found it. Autouse fixtures are set up first, so this
    runs after the test's own fixtures (servers, stores) have closed."""
    yield
    drop_pg_schemas()


def pytest_sessionfinish(session: pytest.Session) -> None:
    kept = drop_pg_schemas()  # a schema a leaked connection held at its test's end
    if kept:
        import sys

        print(f"\nPostgreSQL schemas still in use, left behind: {', '.join(kept)}",
              file=sys.stderr)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "accord.db")
    return fresh_pg_schema()


@pytest.fixture
def acc(tmp_path: Path, clock: Clock, policy: Policy) -> Iterator[Accord]:
    a = Accord.open(tmp_path / "accord.db", policy=policy, clock=clock)
    yield a
    a.close()


@pytest.fixture
def any_acc(store_url: str, clock: Clock, policy: Policy) -> Iterator[Accord]:
    """An Accord on each backend (SQLite and PostgreSQL)."""
    a = Accord.open(store_url, policy=policy, clock=clock)
    yield a
    a.close()
