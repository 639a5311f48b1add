"""``Idempotency-Key`` on every write: a retry with the same key and body gets the stored answer
and changes nothing; the same key with a different body is a 409.

Proposals carry the key into the proposal itself, so they are deduplicated inside the decision's
own transaction (on every replica). Other writes keep their answer in the ``requests`` table;
a per-key lock in this process stops two concurrent retries from both running here.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from starlette.responses import JSONResponse

from accord._errors import IdempotencyConflict, InvalidInput
from accord.http._auth import Principal
from accord.ledger import FLEET, canonical

HEADER = "Idempotency-Key"
MAX_KEY = 200


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
        """Run ``action`` once per (principal, key); answer replays from the stored response."""
        key = key_of(request)
        if key is None:
            return JSONResponse(jsonable_encoder(action()), status_code=status)
        service = request.app.state.service
        digest = hashlib.sha256(canonical([request.method, request.url.path,
                                           jsonable_encoder(payload)])).hexdigest()
        who = principal.label
        with self._lock(who, key):
            with service.store.read() as tx:
                seen = tx.one("SELECT request_hash, status, response FROM requests WHERE "
                              "principal = ? AND key = ?", (who, key))
            if seen is not None:
                if seen["request_hash"] != digest:
                    raise IdempotencyConflict(
                        f"{HEADER} {key!r} was already used for a different request",
                        where=HEADER, hint="use a new key for a new write; a retry must send "
                                           "the same method, path and body")
                return JSONResponse(json.loads(seen["response"]), status_code=seen["status"],
                                    headers={"Idempotent-Replayed": "true"})
            body = jsonable_encoder(action())
            with service.store.lock(FLEET) as tx:
                tx.execute("INSERT INTO requests (principal, key, request_hash, status, response, "
                           "created_at) VALUES (?,?,?,?,?,?) ON CONFLICT (principal, key) "
                           "DO NOTHING", (who, key, digest, status, json.dumps(body),
                                          time.time()))
        return JSONResponse(body, status_code=status)
