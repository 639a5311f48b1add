"""Two dispatcher processes on one PostgreSQL, one killed mid-dispatch: nothing is lost, and
nothing is delivered under two identities."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from accord import Accord
from tests.conftest import EXAMPLE_POLICY, fresh_pg_schema, wait_until

from .smtp_sink import Sink

SCRIPT = Path(__file__).with_name("dispatch_script.py")
N = 1000


@pytest.mark.postgres
@pytest.mark.slow
def test_a_replica_killed_mid_dispatch_loses_nothing_and_sends_each_touch_once(
        sink: Sink) -> None:
    url = fresh_pg_schema()
    acc = Accord.open(url, policy=EXAMPLE_POLICY)
    touches = set()
    for i in range(N):
        d = acc.propose("churn-guard", f"c{i:04d}", channel="email", intent="retain",
                        deliver={"to": f"c{i:04d}@example.com", "text": "hello"})
        assert d.outcome == "go"
        touches.add(d.touch_id)
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, str(Path(root) / "src"), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, str(SCRIPT), url, str(EXAMPLE_POLICY),
                               str(sink.port)], env=env, stderr=subprocess.PIPE)
             for _ in range(2)]
    try:
        wait_until(lambda: len(sink.message_ids()) >= N // 5, timeout=120,
                   what="a fifth of the deliveries")
        procs[0].send_signal(signal.SIGKILL)  # mid-dispatch: it holds leases, maybe mid-send
        wait_until(lambda: len(set(sink.message_ids())) >= N, timeout=180,
                   what="every delivery, by the surviving replica")
        assert procs[1].wait(timeout=60) == 0, procs[1].stderr.read() if procs[1].stderr else ""
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stderr:
                p.stderr.close()
    ids = sink.message_ids()
    delivered = {i.strip("<>").split("@")[0] for i in ids}
    assert delivered == touches  # nothing lost, nothing invented
    twice = [i for i, n in collections.Counter(ids).items() if n > 1]
    # Only a kill in the instant between the SMTP server's 250 and the commit of "sent" can
    # send twice, and then under the same Message-ID, which receivers deduplicate on.
    assert len(twice) <= 1, twice
    with acc.store.read() as tx:
        statuses = collections.Counter(r["status"] for r in tx.rows(
            "SELECT status FROM outbox"))
        touch_statuses = collections.Counter(r["status"] for r in tx.rows(
            "SELECT status FROM touches"))
    assert statuses == {"sent": N}
    assert touch_statuses == {"executed": N}
    acc.close()
