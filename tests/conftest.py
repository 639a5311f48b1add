"""Shared fixtures. Real parts only: a real SQLite file, a real PostgreSQL, real servers."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from accord import Accord
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


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return Policy.load(EXAMPLE_POLICY)


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def require_pg() -> str:
    """The PostgreSQL URL, or a loud skip — a failure under CI=true."""
    if not pg_available():
        message = f"PostgreSQL is not reachable at {PG_URL}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return PG_URL


def fresh_pg_schema() -> str:
    """A PostgreSQL URL whose search_path is a new, empty schema."""
    import psycopg

    url = require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


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
