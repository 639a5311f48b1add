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
from accord.ledger import FLEET, canonical
from accord.service import Accord, new_id
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
        row = {"id": new_id("wh"), "owner": caller.label, "url": body.url,
               "kinds": json.dumps(sorted(set(body.kinds))), "created_at": time.time(),
               "active": 1}
        secret = f"whsec_{secrets.token_urlsafe(24)}"
        with svc.store.lock(FLEET) as tx:
            tx.execute("INSERT INTO webhooks (id, owner, url, secret, kinds, created_at, active) "
                       "VALUES (?,?,?,?,?,?,1)", (row["id"], row["owner"], row["url"], secret,
                                                  row["kinds"], row["created_at"]))
        request.app.state.webhooks.refresh()
        return _webhook(row, secret)

    return once(request, caller, body, act, status=201)


@router.get("/webhooks", response_model=list[Webhook], tags=["webhooks"])
def list_webhooks(caller: Caller, svc: Service) -> list[Webhook]:
    caller.require("admin", doing="manage webhooks")
    with svc.store.read() as tx:
        rows = tx.rows("SELECT * FROM webhooks ORDER BY created_at")
    return [_webhook(r) for r in rows]


@router.delete("/webhooks/{webhook_id}", response_model=Webhook, tags=["webhooks"])
def deactivate(webhook_id: str, caller: Caller, svc: Service, request: Request) -> Webhook:
    caller.require("admin", doing="manage webhooks")
    with svc.store.lock(FLEET) as tx:
        r = tx.one("SELECT * FROM webhooks WHERE id = ?", (webhook_id,))
        if r is None:
            raise NotFound(f"no webhook {webhook_id!r}", where="webhook_id")
        tx.execute("UPDATE webhooks SET active = 0 WHERE id = ?", (webhook_id,))
    request.app.state.webhooks.refresh()
    return _webhook({**r, "active": 0})


@router.get("/webhooks/dead-letters", response_model=list[Delivery], tags=["webhooks"])
def dead_letters(caller: Caller, svc: Service, limit: int = 100) -> list[Delivery]:
    """Deliveries that failed every attempt, newest first, with the last error."""
    caller.require("admin", doing="manage webhooks")
    with svc.store.read() as tx:
        rows = tx.rows("SELECT * FROM deliveries WHERE status = 'dead' ORDER BY created_at DESC "
                       "LIMIT ?", (max(1, min(limit, 1000)),))
    return [Delivery(id=r["id"], webhook_id=r["webhook_id"], message=json.loads(r["message"]),
                     attempts=r["attempts"], status=r["status"], last_error=r["last_error"],
                     created_at=r["created_at"]) for r in rows]


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
            rows = tx.rows("SELECT id, url, secret, kinds FROM webhooks WHERE active = 1")
        self._hooks = [{**r, "kinds": set(json.loads(r["kinds"]))} for r in rows]
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
        rows = []
        now = time.time()
        for m in messages:
            for h in self._hooks:
                if "*" in h["kinds"] or m.get("kind") in h["kinds"]:
                    did = "dl_" + hashlib.sha256(canonical([h["id"], m])).hexdigest()[:24]
                    rows.append((did, h["id"], json.dumps(m, default=str), now))
        if not rows:
            return 0
        with self.service.store.lock(FLEET) as tx:
            for r in rows:
                tx.execute("INSERT INTO deliveries (id, webhook_id, message, attempts, next_at, "
                           "status, created_at) VALUES (?,?,?,0,?,'pending',?) "
                           "ON CONFLICT (id) DO NOTHING", (r[0], r[1], r[2], r[3], r[3]))
        return len(rows)

    def pending(self) -> int:
        """Deliveries waiting to be sent (due or backing off): the queue /metrics reports."""
        with self.service.store.read() as tx:
            r = tx.one("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'")
        return int(r["n"]) if r else 0

    def deliver_due(self, http: httpx.Client) -> None:
        now = time.time()
        with self.service.store.read() as tx:  # the common case writes nothing
            if tx.one("SELECT id FROM deliveries WHERE status = 'pending' AND next_at <= ? "
                      "LIMIT 1", (now,)) is None:
                return
        with self.service.store.lock(FLEET) as tx:  # lease due rows so one replica sends each
            due = tx.rows("SELECT d.id, d.webhook_id, d.message, d.attempts, w.url, w.secret "
                          "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE "
                          "d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at LIMIT 50",
                          (now,))
            for d in due:
                tx.execute("UPDATE deliveries SET next_at = ? WHERE id = ?",
                           (now + self.timeout * 2, d["id"]))
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
        with self.service.store.lock(FLEET) as tx:
            tx.execute("UPDATE deliveries SET attempts = ?, status = ?, next_at = ?, "
                       "last_error = ? WHERE id = ?",
                       (attempts, status, next_at, error, d["id"]))
