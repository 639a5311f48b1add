"""Live streams cost nothing while idle and are bounded per principal, on the API (/v1/stream)
and the dashboard (/ui/stream) alike."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

import httpx

from accord.http import create_token
from accord.store.bus import MAX_STREAMS_PER_OWNER

from .live_server import Server, wait_until

PATHS = ("/v1/stream", "/ui/stream")


@contextlib.contextmanager
def open_stream(server: Server, token: str, path: str) -> Iterator[httpx.Response]:
    """A stream as a client holds it: the answer's headers read, its body left open."""
    with httpx.Client(base_url=server.url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as http, \
            http.stream("GET", path) as r:
        lines = r.iter_lines()  # kept: dropping the iterator would close the stream
        if r.status_code == 200:
            next(lines)  # the first comment: the subscription is live
        yield r


def waiting_on_the_bus() -> int:
    """Threads parked in a blocking wait on a bus subscription."""
    return sum(1 for frame in sys._current_frames().values()
               if any(f.f_code.co_name == "get" and f.f_code.co_filename.endswith("bus.py")
                      for f in _stack(frame)))


def _stack(frame: object) -> Iterator[object]:
    while frame is not None:
        yield frame
        frame = frame.f_back  # type: ignore[attr-defined]


def test_one_principal_holds_at_most_the_documented_number_of_streams(server: Server) -> None:
    token = server.tokens["agent_a"]
    with contextlib.ExitStack() as held:
        for i in range(MAX_STREAMS_PER_OWNER):
            r = held.enter_context(open_stream(server, token, PATHS[i % 2]))
            assert r.status_code == 200
        for path in PATHS:
            with open_stream(server, token, path) as over:
                assert over.status_code == 429
                assert int(over.headers["Retry-After"]) > 0
                over.read()
                assert "open streams" in over.text
        with open_stream(server, token, "/v1/stream") as over:
            problem = over.read() and over.json()
        assert problem["status"] == 429 and problem["limit"] == MAX_STREAMS_PER_OWNER
        assert problem["where"] == "Authorization" and "close a stream" in problem["hint"]
        with open_stream(server, server.tokens["agent_b"], "/v1/stream") as other:
            assert other.status_code == 200, "the bound is per principal"
    # every stream closed with its client: the principal may open them again
    def reopened() -> bool:
        with open_stream(server, token, "/v1/stream") as again:
            return again.status_code == 200
    wait_until(reopened, what="the closed streams to be released")


def test_idle_streams_hold_no_worker_thread_and_decisions_go_on(server: Server) -> None:
    tokens = [create_token(server.service.store, "agent", seat) for seat in (
        "lead-scoring", "email-cadence", "scheduler", "reengage", "support")]
    tokens += [server.tokens["reviewer"], server.tokens["admin"]]
    with server.http("agent_a") as http:
        assert http.post("/v1/proposals", json={"agent": "upsell", "customer": "w0",
                                                "channel": "email",
                                                "intent": "upsell"}).status_code == 200
    before, parked = threading.active_count(), waiting_on_the_bus()
    with contextlib.ExitStack() as held:
        opened = 0
        for token in tokens:
            for i in range(MAX_STREAMS_PER_OWNER):
                r = held.enter_context(open_stream(server, token, PATHS[i % 2]))
                opened += r.status_code == 200
        assert opened > 50
        assert waiting_on_the_bus() <= parked, "an idle stream is parked in a thread"
        assert threading.active_count() <= before + 2, (before, threading.active_count())
        with server.http("agent_a") as http:
            d = http.post("/v1/proposals", json={"agent": "upsell", "customer": "w1",
                                                 "channel": "email", "intent": "upsell"})
        assert d.status_code == 200 and d.json()["outcome"] == "go"
