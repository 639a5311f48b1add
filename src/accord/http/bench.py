"""The HTTP part of ``accord bench``: a real ``accord serve`` driven at a fixed offered load.

Open loop: request *i* is sent at ``t0 + i / rate`` whether or not earlier ones have answered,
and its latency counts from that scheduled time, so a server that falls behind shows it in p99
instead of quietly slowing the driver down (coordinated omission). The driver runs in its own
process so it does not share the server's interpreter.

On PostgreSQL the same run also drives the floor (``accord.http._floor``): a bare endpoint
doing a decision's transaction with async psycopg on the event loop. Accord's rate and p99 over
the floor's, offered the same load by the same driver a few seconds apart, is a ratio that
holds on any machine, busy or quiet.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

WARMUP = 200
PROPOSALS = "/v1/proposals"
BASELINE = "/healthz"


def free_port() -> int:
    """A loopback port free right now (another process may still take it before use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"accord serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"accord serve did not answer at {url} within {timeout} s")


def bench_http(db_url: str, *, rate: int = 1000, seconds: float = 10,
               policy: str | Path | None = None, max_in_flight: int = 512,
               workers: int = 1) -> dict[str, Any]:
    """Start ``accord serve`` (``workers`` processes) on ``db_url``, offer ``rate``
    proposals/s for ``seconds``, and return the sustained decisions/s and latency percentiles
    (ms).

    On PostgreSQL the same driver first offers the same proposals to the floor (a bare endpoint
    doing a decision's transaction, ``accord.http._floor``): ``floor_*`` are its figures,
    ``floor_rate_ratio`` Accord's decisions/s over the floor's and ``floor_p99_ratio`` Accord's
    p99 over the floor's (the bars: ≥ 0.9 and ≤ 2 at 1,000/s offered). On SQLite it offers
    ``GET /healthz`` instead: ``baseline_*`` is what the machine, the driver and the HTTP stack
    cost without a decision."""
    from accord.http import create_token
    from accord.store import open_store

    store = open_store(db_url)
    try:
        token = create_token(store, "admin", "bench")
    finally:
        store.close()
    pol = str(policy) if policy else str(resources.files("accord") / "templates" / "accord.yaml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    backend = "postgresql" if db_url.startswith(("postgres://", "postgresql://")) else "sqlite"
    floor: subprocess.Popen[bytes] | None = None
    floor_url = ""
    if backend == "postgresql":
        floor_port = free_port()
        floor_url = f"http://127.0.0.1:{floor_port}"
        floor = subprocess.Popen([sys.executable, "-m", "accord.http._floor", db_url,
                                  str(floor_port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen(
        [sys.executable, "-c", "from accord.cli import main; main()", "serve", "--db", db_url,
         "--policy", pol, "--port", str(port), "--max-in-flight", str(max_in_flight),
         "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(url, server)
        if floor is not None:
            _wait_healthy(floor_url, floor)
        out = subprocess.run([sys.executable, "-m", "accord.http.bench", url, token, str(rate),
                              str(seconds), floor_url], check=True, capture_output=True,
                             text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        for proc in (server, floor):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    return {"backend": backend, "workers": workers, **result}


class _Conn:
    """One keep-alive HTTP/1.1 connection, written by hand: a driver that is cheaper than the
    server it measures (a general client's pool costs more than the decision at this rate)."""

    def __init__(self, host: str, port: int, token: str, path: str = PROPOSALS) -> None:
        self.host, self.port = host, port
        method = "POST" if path == PROPOSALS else "GET"
        self.head = (f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n")
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status


async def _drive(url: str, token: str, rate: int, seconds: float, path: str = PROPOSALS,
                 connections: int = 64) -> dict[str, Any]:
    """Offer ``rate`` requests/s to ``path`` for ``seconds`` (after a warm-up) and measure."""
    host, port = url.removeprefix("http://").split(":")
    run = f"{random.getrandbits(32):08x}"
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def worker() -> None:
        conn = _Conn(host, int(port), token, path)
        while (item := await queue.get()) is not None:
            i, scheduled = item
            body = json.dumps({"agent": "email-cadence", "customer": f"b{run}-{i}",
                               "channel": "email", "intent": "nurture"}).encode()
            try:
                key = str(await conn.post(body if path == PROPOSALS else b""))
            except (OSError, asyncio.IncompleteReadError) as exc:
                key, conn = type(exc).__name__, _Conn(host, int(port), token, path)
            if i >= 0:
                statuses[key] = statuses.get(key, 0) + 1
                if key == "200":
                    latencies.append(time.perf_counter() - scheduled)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    for i in range(WARMUP):
        queue.put_nowait((-i - 1, time.perf_counter()))
    while not queue.empty():
        await asyncio.sleep(0.01)
    total = int(rate * seconds)
    t0 = time.perf_counter()
    for i in range(total):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, at))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - t0
    latencies.sort()

    def pct(q: float) -> float:
        if not latencies:
            return float("nan")
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {"offered_per_s": rate, "seconds": seconds, "sent": total,
            "decisions": len(latencies), "decisions_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0), "statuses": statuses}


async def _drive_both(url: str, token: str, rate: int, seconds: float,
                      floor_url: str = "") -> dict[str, Any]:
    """The floor's proposals (or, without a floor, ``GET /healthz``) first, then Accord's
    proposals, at the same offered load."""
    if floor_url:
        floor = await _drive(floor_url, token, rate, seconds, PROPOSALS)
        result = await _drive(url, token, rate, seconds, PROPOSALS)

        def over(a: float, b: float) -> float:
            return round(a / b, 3) if b else float("nan")

        result.update(floor_per_s=floor["decisions_per_s"], floor_p50_ms=floor["p50_ms"],
                      floor_p99_ms=floor["p99_ms"], floor_statuses=floor["statuses"],
                      floor_rate_ratio=over(result["decisions_per_s"], floor["decisions_per_s"]),
                      floor_p99_ratio=over(result["p99_ms"], floor["p99_ms"]))
        return result
    base = await _drive(url, token, rate, seconds, BASELINE)
    result = await _drive(url, token, rate, seconds, PROPOSALS)
    result.update(baseline_per_s=base["decisions_per_s"], baseline_p50_ms=base["p50_ms"],
                  baseline_p99_ms=base["p99_ms"])
    return result


def cpu_per_request(db_url: str, *, n: int = 1500, rounds: int = 3,
                    policy: str | Path | None = None) -> list[dict[str, Any]]:
    """CPU (ms, every thread of this process) per ``POST /v1/proposals`` through the whole app,
    with the lean path off and on, alternated for ``rounds`` rounds, 10 requests in flight and
    no network in between: the decision is the same in both, so the difference is what the
    framework and the thread hand-off cost. CPU time moves far less with the machine's load
    than latency does."""
    import resource

    from accord import Accord
    from accord.http import create_app, create_token

    pol = str(policy) if policy else str(resources.files("accord") / "templates" / "accord.yaml")

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    async def post(app: Any, token: str, customer: str) -> None:
        body = json.dumps({"agent": "email-cadence", "customer": customer, "channel": "email",
                           "intent": "nurture"}).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": PROPOSALS,
                 "raw_path": PROPOSALS.encode(), "root_path": "", "query_string": b"",
                 "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode()),
                             (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"the bench's proposal was answered {sent[0]['status']}")

    async def drive(app: Any, token: str, count: int, tag: str) -> None:
        gate = asyncio.Semaphore(10)

        async def one(i: int) -> None:
            async with gate:
                await post(app, token, f"{tag}-{i}")

        await asyncio.gather(*(one(i) for i in range(count)))

    async def served(app: Any, token: str, tag: str) -> tuple[float, float]:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        life = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"},
                                         "state": {}}, inbox.get, outbox.put))
        await outbox.get()
        try:
            await drive(app, token, 100, f"warm-{tag}")  # caches, prepared statements
            c0, t0 = cpu(), time.perf_counter()
            await drive(app, token, n, tag)
            return (cpu() - c0) / n * 1000, n / (time.perf_counter() - t0)
        finally:
            await inbox.put({"type": "lifespan.shutdown"})
            await outbox.get()
            await life

    run = f"{random.getrandbits(32):08x}"
    out: list[dict[str, Any]] = []
    for i in range(rounds):
        for lean in (False, True):
            service = Accord.open(db_url, policy=pol)
            try:
                token = create_token(service.store, "admin", "bench")
                app = create_app(service, lean=lean, background=False)
                ms, per_s = asyncio.run(served(app, token, f"c{run}-{i}-{int(lean)}"))
            finally:
                service.close()
            out.append({"round": i, "lean": lean, "cpu_ms_per_request": round(ms, 3),
                        "per_s": round(per_s, 1), "load": round(os.getloadavg()[0], 2)})
    return out


if __name__ == "__main__":  # URL TOKEN RATE SECONDS [FLOOR_URL]
    _url, _token, _rate, _seconds = sys.argv[1:5]
    _floor = sys.argv[5] if len(sys.argv) > 5 else ""
    print(json.dumps(asyncio.run(_drive_both(_url, _token, int(_rate), float(_seconds),
                                             _floor))))
