"""``accord serve --workers N``: several processes, one store, one answer per proposal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from accord.http import create_token
from accord.http.bench import _free_port
from accord.store import open_store
from tests.conftest import EXAMPLE_POLICY, wait_until

from .conftest import BACKENDS, store_for


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_worker_processes_answer_a_retried_proposal_with_one_decision(
        backend: str, tmp_path: Path) -> None:
    db = store_for(backend, tmp_path)
    store = open_store(db)
    try:
        token = create_token(store, "agent", "email-cadence")
    finally:
        store.close()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from accord.cli import main; main()", "serve", "--db", db,
         "--policy", str(EXAMPLE_POLICY), "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: proc.poll() is not None or _healthy(url), timeout=60,
                   what="accord serve --workers 2 to answer")
        assert proc.poll() is None, f"accord serve --workers 2 exited with {proc.returncode}"
        body = {"agent": "email-cadence", "customer": "w-1", "channel": "email",
                "intent": "nurture"}
        answers = []
        for _ in range(6):  # a fresh connection each time, so both workers get some
            with httpx.Client(base_url=url, timeout=30) as http:
                r = http.post("/v1/proposals", json=body, headers={
                    "Authorization": f"Bearer {token}", "Idempotency-Key": "once"})
            assert r.status_code == 200, r.text
            answers.append(r.json())
        assert all(a == answers[0] for a in answers)
        assert answers[0]["outcome"] == "go"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    store = open_store(db)
    try:
        with store.read() as tx:
            n = tx.one("SELECT COUNT(*) AS n FROM decisions WHERE customer = ?", ("w-1",))
    finally:
        store.close()
    assert n is not None and n["n"] == 1
