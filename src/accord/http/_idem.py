"""``Idempotency-Key`` on every write: a retry with the same key and body gets the stored answer
and changes nothing; the same key with a different body is a 409.

Proposals carry the key into the proposal itself, so they are deduplicated inside the decision's
own transaction (on every replica). Other writes first claim the key: a row in ``requests``
whose primary key (principal, key) lets one transaction, on one replica, insert it. The claimant
runs the write and stores its answer in that row; a concurrent duplicate, on this replica or
another, waits for the answer and replays it (or, past ``WAIT`` seconds, gets a 409 saying the
first is still running). A write that fails releases its claim, so a retry runs it afresh. A
claim left by a replica that died mid-write is taken over after ``CLAIM_LEASE`` seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from starlette.responses import JSONResponse

from accord._errors import IdempotencyConflict, InvalidInput, StoreUnavailable
from accord.http._auth import Principal
from accord.ledger import canonical
from accord.store import Store
from accord.store import _requests as request_rows

log = logging.getLogger("accord.http")
HEADER = "Idempotency-Key"
MAX_KEY = 200
PENDING = request_rows.PENDING
"""``requests.status`` of a claim whose answer is not stored yet."""
CLAIM_LEASE = 60.0
"""Seconds after which a claim that never got its answer is taken to be from a dead replica."""
WAIT = 10.0
"""Seconds a duplicate waits for the claimant's answer before it is told to retry."""


def key_of(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(f"{HEADER} must be 1 to {MAX_KEY} characters", where=HEADER,
                           hint="use a fresh UUID per logical write and resend it on retry")
    return key


class Requests:
    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, principal: str, key: str) -> threading.Lock:
        with self._guard:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault((principal, key), threading.Lock())

    def run(self, request: Request, principal: Principal, payload: Any,
            action: Callable[[], Any], *, status: int = 200) -> JSONResponse:
        """Run ``action`` once per (principal, key) across every replica sharing the store;
        answer duplicates from the stored response."""
        key = key_of(request)
        if key is None:
            return JSONResponse(jsonable_encoder(action()), status_code=status)
        store: Store = request.app.state.service.store
        digest = hashlib.sha256(canonical([request.method, request.url.path,
                                           jsonable_encoder(payload)])).hexdigest()
        who = principal.label
        deadline = time.monotonic() + WAIT
        pause = 0.01
        with self._lock(who, key):  # duplicates in this process wait here, not on the store
            while True:
                seen = _claim(store, who, key, digest)
                if seen is None:
                    return _run_claimed(store, who, key, action, status)
                if seen["request_hash"] != digest:
                    raise IdempotencyConflict(
                        f"{HEADER} {key!r} was already used for a different request",
                        where=HEADER, hint="use a new key for a new write; a retry must send "
                                           "the same method, path and body")
                if seen["status"] != PENDING:
                    return JSONResponse(json.loads(seen["response"]),
                                        status_code=seen["status"],
                                        headers={"Idempotent-Replayed": "true"})
                if time.monotonic() >= deadline:
                    raise IdempotencyConflict(
                        f"a request with {HEADER} {key!r} is still being processed",
                        where=HEADER, hint="retry later with the same key and body; you will "
                                           "get its answer once it is done")
                time.sleep(pause)  # another replica holds the claim: poll for its answer
                pause = min(pause * 2, 0.25)


def _claim(store: Store, who: str, key: str, digest: str) -> dict[str, Any] | None:
    """Claim (who, key); ``None`` if this call now holds it, else the row that holds it."""
    with store.write() as tx:
        return request_rows.claim(tx, who, key, digest, time.time(), CLAIM_LEASE)


def _run_claimed(store: Store, who: str, key: str, action: Callable[[], Any],
                 status: int) -> JSONResponse:
    try:
        body = jsonable_encoder(action())
    except BaseException:
        with suppress(Exception), store.write() as tx:  # the write's own error wins
            request_rows.release(tx, who, key)
        raise
    try:
        with store.write() as tx:
            request_rows.answer(tx, who, key, status, body)
    except StoreUnavailable:  # the write is recorded: answer it; a 503 would say otherwise
        log.warning("the answer to %s's write with %s %r was not kept for replay; its claim "
                    "lapses after %.0f s", who, HEADER, key, CLAIM_LEASE)
    return JSONResponse(body, status_code=status)
