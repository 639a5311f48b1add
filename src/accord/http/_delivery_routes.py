"""Delivery over HTTP: one-click unsubscribe, inbound channel reports, the outbox.

``/v1/unsubscribe/{token}`` needs no bearer token (the customer clicks it); the token is the
proof. ``/v1/inbound/…`` is signed by the operator's gateway with the inbound secret
(``Accord-Signature``, as webhooks are). The outbox is read by admins and reviewers, and by an
agent for its own deliveries."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from accord._errors import Forbidden, InvalidInput, NotFound
from accord._signing import verify_signature
from accord.delivery import UnsubscribeLinks
from accord.delivery import _inbound as inbound
from accord.delivery._dispatch import unsubscribe_secret
from accord.http._common import COMMON, Caller, Service
from accord.model import NAME
from accord.service import Accord
from accord.store import _outbox as outbox

router = APIRouter(prefix="/v1", responses=COMMON)

_PAGE = """<!doctype html><meta charset="utf-8"><meta name="viewport"
content="width=device-width"><title>Unsubscribe</title><body style="font:16px system-ui;
max-width:32em;margin:3em auto;padding:0 1em">{body}</body>"""


def _links(request: Request, svc: Accord) -> UnsubscribeLinks:
    state: Any = request.app.state
    if getattr(state, "unsubscribe_links", None) is None:
        state.unsubscribe_links = UnsubscribeLinks(unsubscribe_secret(svc),
                                                   str(request.base_url))
    links: UnsubscribeLinks = state.unsubscribe_links
    return links


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(token: str, request: Request, svc: Service) -> HTMLResponse:
    """A page with one button. GET changes nothing: mail scanners follow links (RFC 8058)."""
    _customer, channel, _touch = _links(request, svc).check(token)
    return HTMLResponse(_PAGE.format(body=(
        f"<h1>Unsubscribe</h1><p>Stop all {channel} messages to you?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>')))


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, tags=["delivery"])
def unsubscribe(token: str, request: Request, svc: Service) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058): records an ``opt_out`` for the link's channel at once,
    which stops every agent's next proposal on it. Repeating the POST changes nothing."""
    customer, channel, touch = _links(request, svc).check(token)
    inbound.unsubscribe(svc, customer, channel, touch)
    return HTMLResponse(_PAGE.format(body=f"<h1>Done</h1><p>You will get no more {channel} "
                                          "messages.</p>"))


class InboundIn(BaseModel):
    """A report from the operator's channel gateway (see docs/delivery.md)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["reply", "receipt", "complaint"]
    channel: str = Field(min_length=1, max_length=100, pattern=NAME)
    address: str | None = Field(default=None, max_length=320, pattern=NAME,
                                description="the customer's address: who replied or complained")
    touch_id: str | None = Field(default=None, max_length=200, pattern=NAME)
    text: str | None = Field(default=None, max_length=5000, description="a reply's text")
    status: Literal["delivered", "failed", "bounced"] | None = None
    permanent: bool = True


class InboundResult(BaseModel):
    events: list[dict[str, Any]]


def _signed(request: Request, body: bytes) -> None:
    secret: str | None = request.app.state.inbound_secret
    if not secret:
        raise NotFound("inbound reports are not configured on this server", where="path",
                       hint="start accord serve with ACCORD_INBOUND_SECRET set")
    header = request.headers.get("accord-signature", "")
    if not verify_signature(secret, body, header):
        raise Forbidden("the Accord-Signature header does not sign this body with the inbound "
                        "secret, or is older than 5 minutes", where="Accord-Signature",
                        hint="sign t=<unix time>,v1=HMAC-SHA256(secret, '<t>.<body>')")


@router.post("/inbound/report", response_model=InboundResult, tags=["delivery"])
async def inbound_report(request: Request, svc: Service) -> InboundResult:
    """Any channel's reply, receipt or complaint as signed JSON (``InboundIn``). A reply that is
    a carrier keyword (STOP, UNSUBSCRIBE, START …) becomes ``opt_out`` / ``opt_in``."""
    raw = await request.body()
    _signed(request, raw)
    try:
        r = InboundIn.model_validate_json(raw)
    except ValueError as exc:
        raise InvalidInput(f"not an inbound report: {exc}", where="body") from None
    return InboundResult(events=inbound.report(svc, **r.model_dump()))


@router.post("/inbound/email", response_model=InboundResult, tags=["delivery"])
async def inbound_email(request: Request, svc: Service) -> InboundResult:
    """A bounce (DSN, RFC 3464) or complaint (ARF, RFC 5965) as the raw e-mail, signed. Each
    recipient's fate becomes an event on the customer the original message went to."""
    raw = await request.body()
    _signed(request, raw)
    return InboundResult(events=inbound.email_report(svc, raw))


@router.post("/inbound/twilio", response_model=InboundResult, tags=["delivery"])
async def inbound_twilio(request: Request, svc: Service) -> InboundResult:
    """Twilio's webhooks (incoming messages, status callbacks), verified with Twilio's
    ``X-Twilio-Signature``: STOP / START replies opt the number out of / back in to the channel,
    failed deliveries are hard bounces. Point the number's webhooks at this URL."""
    token: str | None = request.app.state.twilio_auth_token
    if not token:
        raise NotFound("Twilio is not configured on this server", where="path",
                       hint="set ACCORD_TWILIO_ACCOUNT_SID and ACCORD_TWILIO_AUTH_TOKEN")
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    from accord.delivery import _twilio

    public = request.app.state.public_url
    url = (public.rstrip("/") + request.url.path + (f"?{request.url.query}" if
                                                     request.url.query else "")
           ) if public else str(request.url)
    if not _twilio.verify(token, url, params, request.headers.get("x-twilio-signature", "")):
        raise Forbidden("the X-Twilio-Signature header does not sign this request with the "
                        "account's auth token", where="X-Twilio-Signature",
                        hint="the URL Twilio calls must be this server's public URL "
                             "(accord serve --base-url)")
    return InboundResult(events=inbound.twilio(svc, params))


class OutboxItem(BaseModel):
    customer: str
    id: str
    agent: str
    channel: str
    status: str
    attempts: int
    due_at: float
    sender: str | None
    ref: str | None
    last_error: str | None
    created_at: float
    sent_at: float | None


@router.get("/outbox", response_model=list[OutboxItem], tags=["delivery"])
def outbox_items(caller: Caller, svc: Service,
                 status: str | None = Query(None, pattern="^(" + "|".join(outbox.STATUSES) + ")$"),
                 channel: str | None = Query(None, max_length=100),
                 customer: str | None = Query(None, max_length=200),
                 after: str | None = Query(None, max_length=200),
                 limit: int = Query(100, ge=1, le=1000)) -> list[OutboxItem]:
    """Deliveries, by touch id, with filters and paging (``after`` = the last id seen).
    An agent sees only its own."""
    caller.require("agent", "reviewer", "admin", doing="read the outbox")
    with svc.store.read() as tx:
        rows = outbox.listing(tx, status=status, channel=channel, customer=customer,
                              agent=caller.subject if caller.is_agent else None, limit=limit,
                              after=after)
    return [OutboxItem.model_validate(r) for r in rows]


class OutboxCount(BaseModel):
    channel: str
    sender: str | None
    status: str
    n: int


class OutboxSummary(BaseModel):
    counts: list[OutboxCount]
    rates: dict[str, float] = Field(description="sends per second by sender, all replicas")


@router.get("/outbox/summary", response_model=OutboxSummary, tags=["delivery"])
def outbox_summary(request: Request, caller: Caller, svc: Service) -> OutboxSummary:
    """Deliveries by channel, sender and status (queued, sending, sent, dead …), and the
    configured send rates."""
    caller.require("reviewer", "admin", doing="read the outbox summary")
    with svc.store.read() as tx:
        rows = outbox.counts(tx)
    return OutboxSummary(counts=[OutboxCount.model_validate(r) for r in rows],
                         rates=dict(request.app.state.send_rates or {}))
