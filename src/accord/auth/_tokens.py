"""Bearer tokens: stored hashed, one role each (agent, reviewer, admin).

Creating and revoking a token are fleet-wide changes, each recorded on the fleet chain of the
ledger. Lookups are cached for a few seconds so the hot path does not read the tokens table on
every call; a revoked token stops working within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from accord import ledger
from accord._errors import InvalidInput
from accord.auth._principal import ROLES, Principal, Role
from accord.ledger import FLEET
from accord.store import Store
from accord.store import _tokens as rows

CACHE_SECONDS = 5.0


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
        rows.add(tx, hash_token(token), role, subject, at)
        ledger.append(tx, row, "token", at, body={"action": "create", "role": role,
                                                      "subject": subject,
                                                      "hash_prefix": hash_token(token)[:12]})
        tx.save_customer(row)
    return token


def revoke_token(store: Store, token: str) -> bool:
    digest = hash_token(token)
    with store.lock(FLEET) as tx:
        row = tx.customer()
        found = rows.active(tx, digest)
        if found is None:
            return False
        rows.revoke(tx, digest)
        ledger.append(tx, row, "token", time.time(),
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
            r = rows.active(tx, digest)
        found = Principal(r["role"], r["subject"]) if r else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + CACHE_SECONDS, found)
        return found
