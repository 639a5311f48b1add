"""Requests without a valid token are audited without letting anyone fill the ledger: they are
counted per source and window, one ``refusals`` entry each; a known principal's refusals stay
one ``refusal`` entry each."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from accord import Accord
from accord.http import create_app, create_token
from accord.model import LedgerEntry
from accord.policy import Policy
from tests.conftest import Clock, wait_until

from .conftest import BACKENDS, store_for
from .live_server import Running

BAD_REQUESTS = 2000


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path, policy: Policy,
           clock: Clock) -> Iterator[tuple[str, Accord]]:
    """A live server whose service runs on the test's clock."""
    service = Accord.open(store_for(request.param, tmp_path), policy=policy, clock=clock)
    try:
        with Running(create_app(service)) as url:
            yield url, service
    finally:
        service.close()


def ledgered(service: Accord, kind: str) -> list[LedgerEntry]:
    return [e for e in service.ledger(limit=100_000) if e.kind == kind]


async def garbage(url: str, n: int) -> list[int]:
    calls = [("POST", "/v1/proposals"), ("POST", "/v1/events"), ("GET", "/v1/approvals"),
             ("GET", "/v1/customers/c1/context")]
    async with httpx.AsyncClient(base_url=url, timeout=60,
                                 limits=httpx.Limits(max_connections=16)) as http:
        gate = asyncio.Semaphore(16)

        async def one(i: int) -> int:
            async with gate:
                method, path = calls[i % 4]
                r = await http.request(method, path, json={} if method == "POST" else None,
                                       headers={"Authorization": f"Bearer acc_garbage-{i}"})
                return r.status_code

        return list(await asyncio.gather(*(one(i) for i in range(n))))


def test_two_thousand_garbage_tokens_write_one_ledger_entry_that_counts_them(
        served: tuple[str, Accord], clock: Clock) -> None:
    url, service = served
    before = len(service.ledger(limit=100_000))
    statuses = asyncio.run(garbage(url, BAD_REQUESTS))
    assert set(statuses) == {401}
    clock.advance(60)  # the window closes; the server writes its tally within a second
    (entry,) = wait_until(lambda: ledgered(service, "refusals"), what="the refusals entry")
    assert entry.chain == "_fleet"
    assert entry.body["count"] == BAD_REQUESTS and entry.body["source"] == "127.0.0.1"
    assert entry.body["reasons"] == {"the bearer token is unknown or revoked": BAD_REQUESTS}
    assert entry.body["paths"]["POST /v1/proposals"] == BAD_REQUESTS // 4
    assert ledgered(service, "refusal") == []
    assert len(service.ledger(limit=100_000)) == before + 1
    assert service.verify_ledger().ok


def test_a_known_principal_refused_is_still_one_entry_per_refusal(
        served: tuple[str, Accord]) -> None:
    url, service = served
    token = create_token(service.store, "agent", "upsell")
    with httpx.Client(base_url=url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(3):
            assert http.get("/v1/approvals").status_code == 403
    refusals = ledgered(service, "refusal")
    assert len(refusals) == 3
    assert {e.body["principal"] for e in refusals} == {"agent:upsell"}
