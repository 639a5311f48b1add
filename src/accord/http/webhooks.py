"""Signed webhooks: every committed message of the registered kinds is POSTed to the owner's URL.

Each delivery is a row in ``deliveries`` before it is sent, so a crash loses none; failures
retry with exponential backoff and, after the last attempt, land in the dead-letter list. The
delivery id is a digest of (webhook, message), so replicas that all hear the same message (over
LISTEN/NOTIFY) enqueue it once.

Signature: ``Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
check it with :func:`verify_signature`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from accord._errors import NotFound
from accord._signing import sign
from accord.http._common import COMMON, Caller, Service, once
from accord.http._shapes import Delivery, Webhook, WebhookIn
from accord.ledger import canonical
from accord.service import Accord, new_id
from accord.store import _webhooks as webhook_rows
from accord.store.bus import Message

SIGNATURE = "Accord-Signature"
router = APIRouter(prefix="/v1", responses=COMMON)


def _webhook(r: dict[str, Any], secret: str | None = None) -> Webhook:
    return Webhook(id=r["id"], owner=r["owner"], url=r["url"], kinds=json.loads(r["kinds"]),
                   created_at=r["created_at"], active=bool(r["active"]), secret=secret)


@router.post("/webhooks", response_model=Webhook, status_code=201, tags=["webhooks"])
def register(body: WebhookIn, request: Request, caller: Caller, svc: Service) -> JSONResponse:
    """Register a URL for deliveries; the answer carries the signing secret, once."""
    caller.require("admin", doing="manage webhooks")

    def act() -> Webhook:
        webhook_id, kinds, at = new_id("wh"), json.dumps(sorted(set(body.kinds))), time.time()
        secret = f"whsec_{secrets.token_urlsafe(24)}"
        with svc.store.write() as tx:
            webhook_rows.add(tx, webhook_id, caller.label, body.url, secret, kinds, at)
        row = {"id": webhook_id, "owner": caller.label, "url": body.url, "kinds": kinds,
               "created_at": at, "active": 1}
        request.app.state.webhooks.refresh()
        return _webhook(row, secret)

    return once(request, caller, body, act, status=201)


@router.get("/webhooks", response_model=list[Webhook], tags=["webhooks"])
def list_webhooks(caller: Caller, svc: Service) -> list[Webhook]:
    caller.require("admin", doing="manage webhooks")
    with svc.store.read() as tx:
        return [_webhook(r) for r in webhook_rows.every(tx)]


@router.delete("/webhooks/{webhook_id}", response_model=Webhook, tags=["webhooks"])
def deactivate(webhook_id: str, caller: Caller, svc: Service, request: Request) -> Webhook:
    caller.require("admin", doing="manage webhooks")
    with svc.store.write() as tx:
        r = webhook_rows.get(tx, webhook_id)
        if r is None:
            raise NotFound(f"no webhook {webhook_id!r}", where="webhook_id")
        webhook_rows.deactivate(tx, webhook_id)
    request.app.state.webhooks.refresh()
    return _webhook({**r, "active": 0})


@router.get("/webhooks/dead-letters", response_model=list[Delivery], tags=["webhooks"])
def dead_letters(caller: Caller, svc: Service, limit: int = 100) -> list[Delivery]:
    """Deliveries that failed every attempt, newest first, with the last error."""
    caller.require("admin", doing="manage webhooks")
    with svc.store.read() as tx:
        dead = webhook_rows.dead(tx, max(1, min(limit, 1000)))
    return [Delivery(id=r["id"], webhook_id=r["webhook_id"], message=json.loads(r["message"]),
                     attempts=r["attempts"], status=r["status"], last_error=r["last_error"],
                     created_at=r["created_at"]) for r in dead]


class Dispatcher:
    """Turns bus messages into delivery rows and sends the due ones, in one background thread."""

    def __init__(self, service: Accord, *, attempts: int = 8, backoff: float = 1.0,
                 timeout: float = 5.0, refresh_every: float = 2.0) -> None:
        self.service = service
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.refresh_every = refresh_every
        self._hooks: list[dict[str, Any]] = []
        self._refreshed = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        with self.service.store.read() as tx:
            active = webhook_rows.active(tx)
        self._hooks = [{**r, "kinds": set(json.loads(r["kinds"]))} for r in active]
        self._refreshed = time.monotonic()

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="accord-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        sub = self.service.subscribe()
        with httpx.Client(timeout=self.timeout) as http:
            while not self._stop.is_set():
                first = sub.get(timeout=0.2)
                try:
                    if time.monotonic() - self._refreshed > self.refresh_every:
                        self.refresh()
                    if first is not None:
                        self.enqueue([first, *sub.drain()])
                    if self._hooks or first is None:  # idle, or hooks to serve
                        self.deliver_due(http)
                except Exception:  # a broken store or receiver must not kill the dispatcher
                    self._stop.wait(1.0)
        sub.close()

    def enqueue(self, messages: list[Message]) -> int:
        new: list[tuple[str, str, str, float]] = []
        now = time.time()
        for m in messages:
            for h in self._hooks:
                if "*" in h["kinds"] or m.get("kind") in h["kinds"]:
                    did = "dl_" + hashlib.sha256(canonical([h["id"], m])).hexdigest()[:24]
                    new.append((did, h["id"], json.dumps(m, default=str), now))
        if not new:
            return 0
        with self.service.store.write() as tx:
            webhook_rows.enqueue(tx, new)
        return len(new)

    def pending(self) -> int:
        """Deliveries waiting to be sent (due or backing off): the queue /metrics reports."""
        with self.service.store.read() as tx:
            return webhook_rows.pending(tx)

    def deliver_due(self, http: httpx.Client) -> None:
        now = time.time()
        with self.service.store.read() as tx:  # the common case writes nothing
            if not webhook_rows.any_due(tx, now):
                return
        with self.service.store.write() as tx:  # lease due rows so one replica sends each
            due = webhook_rows.lease_due(tx, now, now + self.timeout * 2)
        for d in due:
            self._send(http, d)

    def _send(self, http: httpx.Client, d: dict[str, Any]) -> None:
        message = json.loads(d["message"])
        body = json.dumps({"id": d["id"], "webhook_id": d["webhook_id"], "message": message},
                          separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE: sign(d["secret"], body),
                   "Accord-Delivery": d["id"], "Accord-Event": str(message.get("kind", ""))}
        error: str | None = None
        try:
            r = http.post(d["url"], content=body, headers=headers)
            if r.status_code >= 300:
                error = f"the receiver answered {r.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = d["attempts"] + 1
        if error is None:
            status, next_at = "delivered", time.time()
        elif attempts >= self.attempts:
            status, next_at = "dead", time.time()
        else:
            status, next_at = "pending", time.time() + self.backoff * 2 ** (attempts - 1)
        with self.service.store.write() as tx:
            webhook_rows.settle(tx, d["id"], attempts, status, next_at, error)
