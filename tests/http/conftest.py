"""Fixtures for the HTTP tests: a live server on each backend (see live_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.policy import Policy

from .live_server import Server, fresh_pg_schema, start

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def store_for(backend: str, tmp_path: Path) -> str:
    return str(tmp_path / "accord.db") if backend == "sqlite" else fresh_pg_schema()


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path, policy: Policy) -> Iterator[Server]:
    """A live server on each backend."""
    yield from start(store_for(request.param, tmp_path), policy)


@pytest.fixture
def sqlite_server(tmp_path: Path, policy: Policy) -> Iterator[Server]:
    """A live server on SQLite, for behaviour that does not depend on the backend."""
    yield from start(str(tmp_path / "accord.db"), policy)
