"""kill -9 of the server under load: no acknowledged decision lost, none half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from accord import Accord
from accord.http.bench import free_port
from tests.conftest import EXAMPLE_POLICY

ACCORD = str(Path(sys.executable).with_name("accord"))


def test_kill_9_under_load_loses_no_acknowledged_decision(tmp_path: Path) -> None:
    db, policy = tmp_path / "accord.db", tmp_path / "accord.yaml"
    policy.write_text(EXAMPLE_POLICY.read_text())
    token = subprocess.run([ACCORD, "token", "create", "--agent", "email-cadence", "--db",
                            str(db), "--policy", str(policy)], check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([ACCORD, "serve", "--db", str(db), "--policy", str(policy),
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            server.wait()
            pytest.fail(f"accord serve did not start: {server.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.05)

    acknowledged: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=5) as http:
            for i in range(2000):  # bounded, and stopped by the kill
                if stop.is_set():
                    return
                body = {"agent": "email-cadence", "customer": f"w{worker}-c{i % 50}",
                        "channel": "email", "intent": "nurture"}
                try:
                    r = http.post("/v1/proposals", json=body)
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    with lock:
                        acknowledged.append((r.json()["id"], r.json()["outcome"]))

    workers = [threading.Thread(target=load, args=(w,)) for w in range(6)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    server.stderr.close()  # type: ignore[union-attr]
    stop.set()
    for w in workers:
        w.join(timeout=10)
    assert len(acknowledged) >= 150, "the load never got going"

    with Accord.open(db, policy=policy) as acc:
        for decision_id, outcome in acknowledged:
            assert acc.decision(decision_id).outcome.value == outcome
        with acc.store.read() as tx:
            decisions = tx.one("SELECT COUNT(*) AS n FROM decisions")
            entries = tx.one("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'decision'")
            touches = tx.one("SELECT COUNT(*) AS n FROM touches")
            gos = tx.one("SELECT COUNT(*) AS n FROM decisions WHERE outcome = 'go'")
        assert decisions and entries and touches and gos
        assert decisions["n"] == entries["n"] >= len(acknowledged)
        assert touches["n"] == gos["n"]
        report = acc.verify_ledger()
        assert report.ok, report.problems
