"""Overload is answered at once with 429 and Retry-After; nothing is decided for that request."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from accord.client import Client
from accord.policy import Policy

from .live_server import Server, start, wait_until


@pytest.fixture
def small_server(tmp_path: Path, policy: Policy) -> Iterator[Server]:
    yield from start(str(tmp_path / "accord.db"), policy, max_in_flight=2)


def decisions(s: Server) -> int:
    return sum(1 for e in s.service.ledger(limit=100_000) if e.kind == "decision")


def test_requests_beyond_the_in_flight_bound_get_429_with_retry_after(
        small_server: Server) -> None:
    s = small_server
    gauge = s.app.state.in_flight
    body = {"agent": "email-cadence", "channel": "email", "intent": "nurture"}
    with s.http("admin") as http, ThreadPoolExecutor(2) as pool:
        with s.service.store.lock("held-by-the-test"):  # every decision now waits on the store
            held = [pool.submit(http.post, "/v1/proposals", json={**body, "customer": f"o{i}"})
                    for i in range(2)]
            wait_until(lambda: gauge.current == 2, what="two requests in flight")
            refused = http.post("/v1/proposals", json={**body, "customer": "o-refused"})
        answers = [f.result() for f in held]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert [a.status_code for a in answers] == [200, 200]
    assert decisions(s) == 2
    assert s.service.context("o-refused").version == 0
    with s.service.store.read() as tx:
        assert tx.one("SELECT id FROM decisions WHERE customer = 'o-refused'") is None


def test_the_client_retries_a_429_with_the_same_key_until_it_is_served(
        small_server: Server) -> None:
    s = small_server
    gauge = s.app.state.in_flight
    body = {"agent": "email-cadence", "channel": "email", "intent": "nurture"}
    with s.http("admin") as http, ThreadPoolExecutor(3) as pool, \
            Client(s.url, s.tokens["admin"], retries=10) as client:
        with s.service.store.lock("held-by-the-test"):
            held = [pool.submit(http.post, "/v1/proposals", json={**body, "customer": f"r{i}"})
                    for i in range(2)]
            wait_until(lambda: gauge.current == 2, what="two requests in flight")
            retried = pool.submit(client.propose, "email-cadence", "r-client", channel="email",
                                  intent="nurture")
            wait_until(lambda: gauge.refused >= 1, what="the client's first try to be refused")
        assert retried.result().go
        assert all(f.result().status_code == 200 for f in held)
