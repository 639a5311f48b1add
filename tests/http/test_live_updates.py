"""Live updates leave the server: SSE to the agent concerned, signed webhooks with retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from accord.http import verify_signature
from accord.policy import Policy

from .live_server import Server, start, wait_until


def read_events(lines: Iterator[str], want: str) -> dict[str, Any]:
    """Read SSE lines until an event of kind ``want`` arrives; return its data."""
    kind = None
    for line in lines:
        if line.startswith("event: "):
            kind = line[len("event: "):]
        elif line.startswith("data: ") and kind == want:
            data: dict[str, Any] = json.loads(line[len("data: "):])
            return data
    raise AssertionError(f"the stream ended before a {want} event")


def listen_for(server: Server, role: str, want: str) -> tuple[threading.Thread, dict[str, Any]]:
    """Open ``role``'s /v1/stream in a thread; once it is subscribed, return the thread and the
    dict that will hold the data of the first ``want`` event (join the thread to wait)."""
    got: dict[str, Any] = {}
    subscribed = threading.Event()

    def listen() -> None:
        with server.http(role) as http, http.stream("GET", "/v1/stream") as r:
            lines = r.iter_lines()
            assert next(lines) == ": subscribed"
            subscribed.set()
            got.update(read_events(lines, want))

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert subscribed.wait(10), f"{role}'s stream did not subscribe"
    return t, got


def test_a_preempted_agent_hears_of_its_revocation_on_its_stream(server: Server) -> None:
    # due beyond the commit horizon: a go due sooner would be final, never pre-empted
    first = server.service.propose("upsell", "s1", channel="email", intent="upsell",
                                   at=server.service.clock() + 3 * 3600)
    assert first.go
    t, got = listen_for(server, "agent_a", "revocation")
    with server.http("agent_b") as http:
        d = http.post("/v1/proposals", json={"agent": "churn-guard", "customer": "s1",
                                             "channel": "email", "intent": "retain"}).json()
    assert d["outcome"] == "go" and d["preempted"] == [first.touch_id]
    t.join(10)
    assert got["touch_id"] == first.touch_id
    assert "churn-guard" in got["why"]


class Receiver:
    """A tiny real HTTP receiver on loopback that answers a fixed status and keeps requests."""

    def __init__(self, status: int) -> None:
        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    r = Receiver(getattr(request, "param", 200))
    yield r
    r.close()


def test_a_webhook_delivery_carries_a_signature_that_verifies(sqlite_server: Server,
                                                              receiver: Receiver) -> None:
    with sqlite_server.http("admin") as http:
        hook = http.post("/v1/webhooks", json={"url": receiver.url, "kinds": ["decision"]})
        assert hook.status_code == 201
        secret = hook.json()["secret"]
        d = http.post("/v1/proposals", json={"agent": "upsell", "customer": "w1",
                                             "channel": "email", "intent": "upsell"}).json()
    wait_until(lambda: receiver.received, what="a webhook delivery")
    headers, body = receiver.received[0]
    assert verify_signature(secret, body, headers["accord-signature"])
    assert not verify_signature(secret, body + b" ", headers["accord-signature"])
    assert not verify_signature("whsec_wrong", body, headers["accord-signature"])
    assert json.loads(body)["message"]["decision"]["id"] == d["id"]


@pytest.mark.parametrize("receiver", [500], indirect=True)
def test_a_failing_endpoint_ends_in_the_dead_letter_list_after_its_retries(
        sqlite_server: Server, receiver: Receiver) -> None:
    with sqlite_server.http("admin") as http:
        http.post("/v1/webhooks", json={"url": receiver.url, "kinds": ["decision"]})
        http.post("/v1/proposals", json={"agent": "upsell", "customer": "w2",
                                         "channel": "email", "intent": "upsell"})
        dead = wait_until(lambda: http.get("/v1/webhooks/dead-letters").json(),
                          what="a dead letter")
    assert dead[0]["attempts"] == 3 == len(receiver.received)
    assert "500" in dead[0]["last_error"]
    assert dead[0]["message"]["kind"] == "decision"


def test_a_decision_made_by_another_process_reaches_sse_and_webhooks(
        tmp_path: Path, policy: Policy, receiver: Receiver) -> None:
    """``accord mcp`` over stdio beside ``accord serve``: two processes, one SQLite file."""
    from tests.store.test_sqlite_bus import listening, propose_elsewhere

    db = tmp_path / "accord.db"
    for server in start(str(db), policy):
        with server.http("admin") as http:
            assert http.post("/v1/webhooks", json={"url": receiver.url,
                                                   "kinds": ["decision"]}).status_code == 201
        with server.http("agent_a") as http, http.stream("GET", "/v1/stream") as stream:
            wait_until(lambda: listening(db), what="the server's listener lease")
            other = propose_elsewhere(db, "upsell", "c-elsewhere", "upsell")
            seen = read_events(stream.iter_lines(), "decision")
        assert seen["decision"]["id"] == other
        wait_until(lambda: receiver.received, what="a webhook delivery")
        assert json.loads(receiver.received[0][1])["message"]["decision"]["id"] == other
