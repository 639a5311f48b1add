"""Serve an ASGI app with uvicorn on a free loopback port, in a thread, for one test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from accord import Accord

TOKENS = {"tok-churn": "churn-guard", "tok-upsell": "upsell", "tok-reengage": "reengage",
          "tok-scheduler": "scheduler"}


@dataclass
class Loopback:
    url: str
    service: Accord

    def token(self, agent: str) -> str:
        return next(t for t, a in TOKENS.items() if a == agent)


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


