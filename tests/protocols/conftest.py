"""A real loopback server for the protocol tests: MCP mounted at /mcp and the A2A routes, over
an in-process Accord, served by uvicorn on a free port. Mounted the way a host app mounts them
(no sub-app lifespan), so the MCP session manager's self-start is what runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from accord import Accord
from accord.policy import Policy
from accord.protocols import a2a, mcp
from accord.protocols._a2a_access import SeatTasks

from .loopback_server import Loopback, serve


@pytest.fixture
def loopback(tmp_path: Path, policy: Policy) -> Iterator[Loopback]:
    service = Accord.open(tmp_path / "accord.db", policy=policy)
    # The card names the server's own URL, known once the port is bound: serve an empty app
    # and add the routes before the first request.
    shell = Starlette()
    gen = serve(shell)
    url = next(gen)
    server = Loopback(url, service, tasks=SeatTasks())
    shell.router.routes.extend([Mount("/mcp", app=mcp.build_asgi(service, server.agent)),
                                *a2a.routes(service, url, resolve_agent=server.agent,
                                            tasks=server.tasks)])
    try:
        yield server
    finally:
        for _ in gen:
            pass
        service.close()
