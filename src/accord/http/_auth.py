"""Bearer tokens over HTTP: the ``Authorization`` header checked per request, and the
refusals of callers without a valid token (tokens themselves: ``accord.auth``).

A token names a principal; the principal decides what may be done. An agent acts only as itself
and sees only the context fields its grant allows; a reviewer approves and rejects; an admin
manages seats, policy and webhooks.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from accord._errors import Unauthorized
from accord.auth import Principal, Tokens, Usage, create_token, hash_token, revoke_token


async def authenticate(request: Request) -> Principal:
    """The FastAPI dependency every /v1 endpoint uses: the caller's principal, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("no bearer token", where="Authorization",
                           hint="send `Authorization: Bearer <token>`; create one with "
                                "`accord token create`")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header is not a bearer token",
                           where="Authorization", hint="send `Authorization: Bearer <token>`")
    state: Any = request.app.state
    tokens: Tokens = state.tokens
    hit, principal = tokens.cached(token.strip())
    if not hit:  # a store read: off the event loop
        principal = await run_in_threadpool(tokens.resolve, token.strip())
    if principal is None:
        raise Unauthorized("the bearer token is unknown or revoked", where="Authorization",
                           hint="create a new one with `accord token create`")
    request.state.principal = principal
    if principal.is_agent:
        state.usage.note(principal.subject)
    return principal


class Refusals:
    """Unauthenticated refusals (401), counted in memory per source address and per window of
    ``window`` seconds, and written to the fleet chain as one ``refusals`` entry per source and
    window once the window has closed (and at shutdown). Whatever a caller sends without a valid
    token, the ledger grows by at most ``max_sources + 1`` entries a window, each naming the
    source, the count, the reasons and the paths tried. Refusals of a known principal (403s)
    are attributable and stay one ``refusal`` entry each."""

    def __init__(self, service: Any, *, window: float = 60.0, max_sources: int = 1000,
                 max_paths: int = 20) -> None:
        self._service = service
        self.window = window
        self.max_sources = max_sources
        self.max_paths = max_paths
        self._open: dict[float, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def add(self, source: str | None, method: str, path: str, reason: str,
            protocol: str = "http") -> None:
        """Count one refusal; no I/O."""
        now = self._service.clock()
        start = now - now % self.window
        who = source or "unknown"
        with self._lock:
            tallies = self._open.setdefault(start, {})
            if who not in tallies and len(tallies) >= self.max_sources:
                who = "other"
            tally = tallies.setdefault(who, {
                "protocol": protocol, "status": 401, "source": who, "from": start,
                "to": start + self.window, "count": 0, "reasons": {}, "paths": {}})
            tally["count"] += 1
            _bump(tally["reasons"], reason, self.max_paths)
            _bump(tally["paths"], f"{method} {path}", self.max_paths)

    def flush(self, *, final: bool = False) -> None:
        """Write the tallies of every closed window (every window when ``final``)."""
        now = self._service.clock()
        with self._lock:
            due = sorted(w for w in self._open if final or w + self.window <= now)
            tallies = [t for w in due for _, t in sorted(self._open.pop(w).items())]
        for i, tally in enumerate(tallies):
            try:
                self._service.fleet_entry("refusals", tally)
            except Exception:  # the store is down: keep the rest for the next flush
                with self._lock:
                    for t in tallies[i:]:
                        self._open.setdefault(t["from"], {}).setdefault(t["source"], t)
                raise


__all__ = ["Principal", "Refusals", "Tokens", "Usage", "authenticate", "create_token",
           "hash_token", "revoke_token"]


def _bump(counts: dict[str, int], name: str, limit: int) -> None:
    if name not in counts and len(counts) >= limit:
        name = "other"
    counts[name] = counts.get(name, 0) + 1
