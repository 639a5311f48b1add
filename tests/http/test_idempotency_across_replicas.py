"""An Idempotency-Key holds across replicas for every write, not only proposals: the same key
and body sent at once to two `accord serve` processes sharing one store has one effect and gets
one answer."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .live_server import ACCORD, Server, free_port, fresh_pg_schema, wait_until
from .test_replicas import POLICY


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

TRIES = 30


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_replicas(request: pytest.FixtureRequest,
                 tmp_path: Path) -> Iterator[tuple[list[str], str, str]]:
    """Two server processes on one store: (their URLs, an admin token, the store's URL)."""
    db = str(tmp_path / "accord.db") if request.param == "sqlite" else fresh_pg_schema()
    token = json.loads(subprocess.run([ACCORD, "token", "create", "--db", db, "--admin",
                                       "--json"], check=True, capture_output=True,
                                      text=True).stdout.strip().splitlines()[-1])["token"]
    procs, urls = [], []
    for _ in range(2):
        port = free_port()
        procs.append(subprocess.Popen(
            [ACCORD, "serve", "--db", db, "--policy", str(POLICY), "--port", str(port)],
            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"}))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            wait_until(lambda u=url: healthy(u), timeout=30, what=f"{url} to serve")
        yield urls, token, db
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=15)


def events_per_customer(db: str) -> dict[str, int]:
    sql = "SELECT customer, count(*) FROM events GROUP BY customer"
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            return {c: n for c, n in conn.execute(sql).fetchall()}
    with sqlite3.connect(db) as conn:
        return {c: n for c, n in conn.execute(sql).fetchall()}


async def send_twice_at_once(urls: list[str], token: str) -> list[list[tuple[int, Any]]]:
    """For each try, one event with one key, sent at the same moment to both replicas."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                 timeout=60) as http:
        async def send(url: str, n: int) -> tuple[int, Any]:
            r = await http.post(f"{url}/v1/events", headers={"Idempotency-Key": f"key-{n}"},
                                json={"customer": f"idem-{n}", "type": "login",
                                      "data": {"n": n}})
            return r.status_code, r.json()

        answers = []
        for n in range(TRIES):
            answers.append(list(await asyncio.gather(*(send(u, n) for u in urls))))
        return answers


@pytest.mark.slow
def test_the_same_key_at_two_replicas_at_once_records_one_event_and_answers_the_same(
        two_replicas: tuple[list[str], str, str]) -> None:
    urls, token, db = two_replicas
    answers = asyncio.run(send_twice_at_once(urls, token))
    for first, second in answers:
        assert first[0] == 200, first
        assert first == second
    assert events_per_customer(db) == {f"idem-{n}": 1 for n in range(TRIES)}


def test_a_write_that_failed_releases_its_key_so_a_retry_runs_it(server: Server) -> None:
    pause = {"reason": "incident 7"}
    with server.http("admin", **{"Idempotency-Key": "pause-ghost"}) as http:
        assert http.post("/v1/agents/ghost/pause", json=pause).status_code == 404
        seat = {"id": "ghost", "owner": "ops", "mandate": {"intents": ["nurture"],
                                                          "channels": ["email"]}}
        assert http.post("/v1/agents", json=seat,
                         headers={"Idempotency-Key": "register-ghost"}).status_code == 200
        first = http.post("/v1/agents/ghost/pause", json=pause)
        again = http.post("/v1/agents/ghost/pause", json=pause)
        other = http.post("/v1/agents/ghost/pause", json={"reason": "another"})
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409 and other.json()["where"] == "Idempotency-Key"
