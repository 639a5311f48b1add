"""The serving path under load: start-up state frozen out of the collector's way, and handler
threads sized to the store's connections (issue 12; docs/performance.md, "The HTTP path")."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from accord.policy import Policy

from .conftest import BACKENDS, store_for
from .live_server import Server, start

PROPOSAL = {"agent": "email-cadence", "channel": "email", "intent": "nurture"}


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """The generation of every collection that starts while the test runs (2 = full)."""
    seen: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)


def test_after_start_up_what_the_app_built_is_frozen_and_full_collections_are_rarer(
        server: Server) -> None:
    assert gc.get_freeze_count() > 50_000  # the app, its policy, schemas, modules
    assert gc.get_threshold()[2] >= 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_proposals_over_http_do_not_trigger_a_full_collection(
        backend: str, tmp_path: Path, policy: Policy, full_collections: list[int]) -> None:
    for s in start(store_for(backend, tmp_path), policy):
        with s.http("admin") as http:
            http.post("/v1/proposals", json={**PROPOSAL, "customer": "warm"})
            full_collections.clear()
            answers = [http.post("/v1/proposals", json={**PROPOSAL, "customer": f"g{i}"})
                       for i in range(400)]
        assert {a.status_code for a in answers} == {200}
        assert 2 not in full_collections, f"{full_collections.count(2)} full collections"
        assert full_collections.count(0) > 0  # young collections still run: garbage is freed


def test_when_the_last_app_stops_the_collector_is_as_it_was(tmp_path: Path,
                                                             policy: Policy) -> None:
    before_threshold, before_frozen = gc.get_threshold(), gc.get_freeze_count()
    for _ in start(str(tmp_path / "a.db"), policy):
        for _ in start(str(tmp_path / "b.db"), policy):
            assert gc.get_freeze_count() > 50_000
        assert gc.get_freeze_count() > 50_000  # one app stopping leaves the other's frozen
        assert gc.get_threshold()[2] >= 100
    assert gc.get_threshold() == before_threshold
    assert gc.get_freeze_count() == before_frozen


@pytest.mark.postgres
def test_handler_threads_are_as_many_as_the_store_has_connections(tmp_path: Path,
                                                                  policy: Policy) -> None:
    for s in start(store_for("postgres", tmp_path), policy):
        pool_size = s.service.store.pool_size  # type: ignore[attr-defined]
        with s.http("admin") as http, ThreadPoolExecutor(4 * pool_size) as clients:
            assert http.get("/healthz").json()["threads"] == pool_size
            answers = list(clients.map(
                lambda i: http.post("/v1/proposals", json={**PROPOSAL, "customer": f"t{i}"}),
                range(8 * pool_size)))
        assert {a.status_code for a in answers} == {200}


@pytest.mark.postgres
def test_the_http_bench_reports_accord_beside_the_floor_in_the_same_run() -> None:
    import psycopg

    from accord.http.bench import bench_http

    from .live_server import fresh_pg_schema

    url = fresh_pg_schema()
    result = bench_http(url, rate=40, seconds=1)
    assert result["statuses"] == {"200": 40} and result["floor_statuses"] == {"200": 40}
    assert result["floor_per_s"] > 0 and result["floor_p99_ms"] > 0
    assert result["floor_rate_ratio"] == round(result["decisions_per_s"] /
                                               result["floor_per_s"], 3)
    assert result["floor_p99_ratio"] == round(result["p99_ms"] / result["floor_p99_ms"], 3)
    with psycopg.connect(url) as conn:  # the floor drops its own schema when it stops
        assert conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE "
                            "'accord\\_floor\\_%'").fetchall() == []
