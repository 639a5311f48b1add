"""A real uvicorn server on a free loopback port, in a background thread, over a real store."""

from __future__ import annotations

import importlib.util
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from accord import Accord
from accord.http import create_app, create_token
from accord.policy import Policy
from tests.conftest import wait_until

ROLES = {"admin": ("admin", "ops"), "reviewer": ("reviewer", "rita"),
         "agent_a": ("agent", "upsell"), "agent_b": ("agent", "churn-guard")}
HAS_PG_STORE = importlib.util.find_spec("accord.store.postgres") is not None


@dataclass
class Server:
    url: str
    service: Accord
    app: Any
    tokens: dict[str, str]

    def http(self, role: str | None = None, **headers: str) -> httpx.Client:
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


class Running:
    """uvicorn in a thread, on a socket this process already bound (no port race)."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                                timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_until(lambda: self.server.started, what="uvicorn to start")
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


def start(url: str, policy: Policy, **options: Any) -> Iterator[Server]:
    service = Accord.open(url, policy=policy)
    make_bus = getattr(service.store, "make_bus", None)
    if make_bus is not None and type(service.bus).__name__ == "Bus":
        service.bus = make_bus()
    tokens = {name: create_token(service.store, role, subject)  # type: ignore[arg-type]
              for name, (role, subject) in ROLES.items()}
    options = {"webhook_backoff": 0.05, "webhook_attempts": 3, **options}
    app = create_app(service, **options)
    try:
        with Running(app) as base:
            yield Server(base, service, app, tokens)
    finally:
        service.close()




def fresh_pg_schema() -> str:
    """The suite's own helper (tests/conftest.py): a PostgreSQL URL on a new, empty schema."""
    from ..conftest import fresh_pg_schema as fresh

    url: str = fresh()
    return url
