"""Serve an ASGI app with uvicorn on a free loopback port, in a thread, for one test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette

from accord import Accord
from accord.protocols._a2a_access import SeatTasks
from accord.protocols._actions import not_an_agent

TOKENS = {"tok-churn": "churn-guard", "tok-upsell": "upsell", "tok-reengage": "reengage",
          "tok-scheduler": "scheduler"}
PEOPLE = {"tok-reviewer": "reviewer", "tok-admin": "admin"}
"""Valid tokens that are not agents' (token → role): refused with 403 on /mcp and /a2a."""


@dataclass
class Loopback:
    url: str
    service: Accord
    tasks: SeatTasks | None = None
    tokens: dict[str, str] = field(default_factory=lambda: dict(TOKENS))
    """token → agent: what the server's ``resolve_agent`` reads; ``token()`` adds to it."""

    def token(self, agent: str) -> str:
        """The agent's bearer token (one is issued for a seat that has none yet)."""
        found = next((t for t, a in self.tokens.items() if a == agent), None)
        if found is None:
            found = f"tok-{agent}"
            self.tokens[found] = agent
        return found

    def agent(self, token: str) -> str | None:
        """The ``resolve_agent`` a host passes: as ``accord serve`` resolves its tokens."""
        if token in PEOPLE:
            raise not_an_agent(PEOPLE[token])
        return self.tokens.get(token)


def serve(app: Starlette) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


