"""Bearer tokens: stored hashed, one role each (agent, reviewer, admin), checked per request.

A token names a principal; the principal decides what may be done. An agent acts only as itself
and sees only the context fields its grant allows; a reviewer approves and rejects; an admin
manages seats, policy and webhooks. Lookups are cached for a few seconds so the hot path does
not read the tokens table on every call; a revoked token stops working within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from accord._errors import Forbidden, InvalidInput, Unauthorized
from accord._principal import ROLES, Role
from accord._principal import Principal as _Principal
from accord.ledger import FLEET
from accord.store import Store
from accord.store import _rows as sql

CACHE_SECONDS = 5.0


class Principal(_Principal):
    """A caller of the HTTP API; an agent token acts only as itself."""

    __slots__ = ()

    def acting_agent(self, agent: str | None, *, doing: str, where: str = "agent") -> str:
        """The agent this call acts as: an agent token only ever as itself; an admin names one."""
        if self.is_agent:
            if agent is not None and agent != self.subject:
                raise Forbidden(f"the token of agent {self.subject!r} cannot {doing} as "
                                f"{agent!r}", where=where,
                                hint=f"set {where} to {self.subject!r} or use {agent!r}'s token")
            return self.subject
        if self.role != "admin":
            raise Forbidden(f"a {self.role} token may not {doing}", where="Authorization",
                            hint="use the agent's own token")
        if not agent:
            raise InvalidInput(f"name the agent to {doing} as", where=where,
                               hint="an admin token acts for any agent but must name it")
        return agent


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, role: Role, subject: str, *, now: float | None = None) -> str:
    """Mint a token; only its hash is stored, so this is the one time it can be shown."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", where="role")
    if not subject:
        raise InvalidInput("a token needs a subject (the agent id or the person's name)",
                           where="subject")
    token = f"acc_{secrets.token_urlsafe(32)}"
    at = now if now is not None else time.time()
    with store.lock(FLEET) as tx:
        row = tx.customer()
        tx.execute("INSERT INTO tokens (hash, role, subject, created_at) VALUES (?,?,?,?)",
                   (hash_token(token), role, subject, at))
        sql.append_ledger(tx, row, "token", at, body={"action": "create", "role": role,
                                                      "subject": subject,
                                                      "hash_prefix": hash_token(token)[:12]})
        tx.save_customer(row)
    return token


def revoke_token(store: Store, token: str) -> bool:
    digest = hash_token(token)
    with store.lock(FLEET) as tx:
        row = tx.customer()
        found = tx.one("SELECT role, subject FROM tokens WHERE hash = ? AND revoked = 0",
                       (digest,))
        if found is None:
            return False
        tx.execute("UPDATE tokens SET revoked = 1 WHERE hash = ?", (digest,))
        sql.append_ledger(tx, row, "token", time.time(),
                          body={"action": "revoke", "role": found["role"],
                                "subject": found["subject"], "hash_prefix": digest[:12]})
        tx.save_customer(row)
    return True


class Tokens:
    """Resolves bearer tokens to principals, with a short cache."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(hit, principal) from the cache alone: no I/O, safe on the event loop."""
        with self._lock:
            hit = self._cache.get(hash_token(token))
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def resolve(self, token: str) -> Principal | None:
        hit, found = self.cached(token)
        if hit:
            return found
        digest = hash_token(token)
        now = time.monotonic()
        with self._store.read() as tx:
            r = tx.one("SELECT role, subject FROM tokens WHERE hash = ? AND revoked = 0",
                       (digest,))
        found = Principal(r["role"], r["subject"]) if r else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + CACHE_SECONDS, found)
        return found


class Usage:
    """Which protocol each agent used: counted in memory, written to ``interfaces`` in batches
    so the decision path never waits on it."""

    def __init__(self, store: Store, protocol: str = "http") -> None:
        self._store = store
        self._protocol = protocol
        self._pending: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def seen(self, agent: str) -> None:
        with self._lock:
            count, _ = self._pending.get(agent, (0, 0.0))
            self._pending[agent] = (count + 1, time.time())

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        with self._store.lock(FLEET) as tx:
            for agent, (count, last) in sorted(pending.items()):
                tx.execute("INSERT INTO interfaces (agent, protocol, last_at, count) VALUES "
                           "(?,?,?,?) ON CONFLICT (agent, protocol) DO UPDATE SET last_at = "
                           "excluded.last_at, count = interfaces.count + excluded.count",
                           (agent, self._protocol, last, count))


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
        state.usage.seen(principal.subject)
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


def _bump(counts: dict[str, int], name: str, limit: int) -> None:
    if name not in counts and len(counts) >= limit:
        name = "other"
    counts[name] = counts.get(name, 0) + 1
