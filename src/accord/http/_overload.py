"""Bounded in-flight work. Beyond the bound the answer is an immediate 429 with Retry-After:
nothing was decided, nothing was recorded, and a retry is safe."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from accord._errors import problem_details
from accord.http._problems import PROBLEM

EXEMPT = ("/v1/stream", "/ui/stream", "/healthz", "/metrics", "/openapi.json", "/docs")
"""Never refused: streams hold no worker; health and metrics matter most under overload."""


class InFlight:
    """The gauge the limiter keeps; tests and /healthz read it."""

    def __init__(self, limit: int, retry_after: int = 1) -> None:
        if limit < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.limit = limit
        self.retry_after = retry_after
        self.current = 0
        self.refused = 0


class OverloadLimiter:
    """ASGI middleware; runs on the event loop, so the counter needs no lock."""

    def __init__(self, app: ASGIApp, gauge: InFlight) -> None:
        self.app = app
        self.gauge = gauge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        g = self.gauge
        if g.current >= g.limit:
            g.refused += 1
            await _too_many(g, send)
            return
        g.current += 1
        try:
            await self.app(scope, receive, send)
        finally:
            g.current -= 1


async def _too_many(g: InFlight, send: Send) -> None:
    body = json.dumps(problem_details(
        429, "Overloaded", f"the server is working on {g.current} requests, its limit; "
        "nothing was decided or recorded for this one",
        hint=f"retry after {g.retry_after} s with the same Idempotency-Key")).encode()
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", PROBLEM.encode()), (b"retry-after", str(g.retry_after).encode()),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
