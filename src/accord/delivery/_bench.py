"""``accord bench --delivery``: the dispatcher against a real SMTP server on loopback.

Reports deliveries per second through the whole path (lease, pre-send re-check, SMTP, record)
and what the pre-send re-check costs, as a share of one delivery, measured in the same run.
Needs ``aiosmtpd`` (a dev dependency) for the loopback server."""

from __future__ import annotations

import socket
import statistics
import tempfile
import time
from typing import Any

from accord.bench import T0, bench_policy


def bench_delivery(n: int = 500) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    from accord.delivery import Dispatcher, SmtpSender
    from accord.service import Accord
    from accord.store import _outbox

    received = 0

    class Count:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            nonlocal received
            received += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    now = [T0]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            acc = Accord.open(f"{tmp}/bench.db", policy=bench_policy(), clock=lambda: now[0])
            for i in range(n):
                acc.propose("churn-guard", f"b{i}", channel="email", intent="retain",
                            deliver={"to": f"b{i}@example.com", "text": "hello"})
            d = Dispatcher(acc, {"email": SmtpSender("127.0.0.1", port, sender="a@accord.test",
                                                     domain="accord.test", security="none")},
                           base_url="http://127.0.0.1:8000", batch=n)
            with acc.store.read() as tx:
                queued = _outbox.listing(tx, status="queued", channel=None, customer=None,
                                         agent=None, limit=200, after=None)
                touches = [_outbox.touch(tx, r["customer"], r["id"]) for r in queued]
            sample = [(t, acc.context(t["customer"]).fields) for t in touches if t]
            rechecks = []
            for _ in range(5):
                start = time.perf_counter()
                for t, fields in sample:
                    d._blocked(t, fields, 0, now[0])
                rechecks.append((time.perf_counter() - start) / len(sample))
            start = time.perf_counter()
            sent = 0
            while sent < n:
                r = d.run_once()
                if not r.total:
                    break
                sent += len(r.sent)
            elapsed = time.perf_counter() - start
            d.close()
            acc.close()
    finally:
        controller.stop()
    per = elapsed / max(sent, 1)
    recheck = statistics.median(rechecks)
    return {"deliveries": sent, "received": received, "deliveries_per_s": round(sent / elapsed, 1),
            "ms_per_delivery": round(per * 1000, 3), "recheck_us": round(recheck * 1e6, 1),
            "recheck_share": round(recheck / per, 4)}
