"""A real uvicorn server on a free loopback port, in a background thread, over a real store."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from accord import Accord
from accord.http import create_app, create_token
from accord.http.bench import free_port
from accord.policy import Policy
from tests.conftest import wait_until

ROLES = {"admin": ("admin", "ops"), "reviewer": ("reviewer", "rita"),
         "agent_a": ("agent", "upsell"), "agent_b": ("agent", "churn-guard")}
ACCORD = str(Path(sys.executable).with_name("accord"))


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
    service = Accord.open(url, policy=policy)  # its bus is the store's (Store.make_bus)
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


@dataclass
class Served:
    """One `accord serve` process; ``log()`` is everything it wrote to stderr so far."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _answers(served: Served) -> bool:
    if served.proc.poll() is not None:
        return True  # it exited: stop waiting, the caller reports the log
    try:
        return httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def accord_serve(*args: str, log_dir: Path, cwd: Path | None = None,
                 level: str = "info") -> Iterator[Served]:
    """`accord serve ARGS` exactly as a user runs it, in a subprocess on a free port. Its log
    is kept, and a failure inside the block carries the log in its message (as a note), so a
    server-side cause is never lost."""
    port = free_port()
    log_path = log_dir / f"accord-serve-{port}.log"
    with log_path.open("wb") as log:
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([ACCORD, "serve", "--port", str(port), "--base-url", url,
                                 "--log-level", level, *args], stdout=log,
                                stderr=subprocess.STDOUT, cwd=cwd)
    served = Served(url, proc, log_path)
    try:
        wait_until(lambda: _answers(served), timeout=60, what=f"accord serve on port {port}")
        if proc.poll() is not None:
            raise RuntimeError(f"accord serve exited with {proc.returncode}")
        yield served
    except BaseException as exc:
        exc.add_note(f"--- accord serve {' '.join(args)} (port {port}) log ---\n{served.log()}")
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
