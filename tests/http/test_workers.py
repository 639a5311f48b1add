"""``accord serve --workers N``: several processes, one store, one answer per proposal.

Which worker answered is read from the kernel: the process holding the server end of the
connection (``/proc/net/tcp`` and each process's open sockets, Linux only)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from accord.http import create_token
from accord.http.bench import free_port
from accord.store import open_store
from tests.conftest import EXAMPLE_POLICY, wait_until

from .conftest import BACKENDS, store_for


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found |= {int(child)} | _descendants(int(child))
    return found


def _answering_process(server_pid: int, server_port: int, client_port: int) -> int | None:
    """The process holding the server end of the loopback connection from ``client_port``."""
    want = f"{server_port:04X}", f"{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]) == want:
            inode = fields[9]
    for pid in {server_pid} | _descendants(server_pid):
        with contextlib.suppress(OSError):
            fds = Path(f"/proc/{pid}/fd")
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in fds.iterdir()):
                return pid
    return None


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
    port = free_port()
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
        answers: list[dict[str, object]] = []
        workers: set[int] = set()

        def ask() -> bool:  # a fresh connection each time, until both workers have answered
            with httpx.Client(base_url=url, timeout=30) as http:
                r = http.post("/v1/proposals", json=body, headers={
                    "Authorization": f"Bearer {token}", "Idempotency-Key": "once"})
                _, client_port = r.extensions["network_stream"].get_extra_info("client_addr")
                worker = _answering_process(proc.pid, port, client_port)
            assert r.status_code == 200, r.text
            assert worker is not None, "no worker process holds the connection"
            answers.append(r.json())
            workers.add(worker)
            return len(workers) == 2

        wait_until(ask, timeout=60, what="both workers to answer")
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
