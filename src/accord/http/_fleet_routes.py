"""Seats, handoffs, the live stream and policy: the fleet over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response, StreamingResponse

from accord._errors import InvalidInput
from accord.http._common import COMMON, Caller, Service, errors, once
from accord.http._history import History
from accord.http._problems import PROBLEM
from accord.http._shapes import AckIn, HandoffIn, PolicyIn, PolicyOut
from accord.policy import Policy
from accord.store.bus import Message, Subscription, TooManyStreams

router = APIRouter(prefix="/v1", responses=COMMON)
KEEPALIVE = 15.0


@router.post("/handoffs", tags=["handoffs"], responses=errors(501))
def handoff(body: HandoffIn, request: Request, caller: Caller, svc: Service) -> JSONResponse:
    """Send a structured handoff to another agent's inbox."""
    sender = caller.acting_agent(body.sender, doing="send handoffs", where="sender")
    return once(request, caller, body, lambda: svc.handoff(
        sender, body.receiver, body.kind, body.payload, customer=body.customer,
        artifacts=body.artifacts, trace_id=body.trace_id, parent_id=body.parent_id, via="http"))


@router.get("/inbox", tags=["handoffs"], responses=errors(501))
def inbox(caller: Caller, svc: Service, agent: str | None = None,
          include_acked: bool = False) -> Any:
    """The handoffs waiting for the agent (reading marks them read)."""
    who = caller.acting_agent(agent, doing="read an inbox")
    return jsonable_encoder(svc.inbox(who, include_acked=include_acked))


@router.post("/handoffs/{handoff_id}/ack", tags=["handoffs"], responses=errors(501))
def ack_handoff(handoff_id: str, request: Request, caller: Caller, svc: Service,
                body: AckIn | None = None) -> JSONResponse:
    """The receiver acknowledges a handoff."""
    who = caller.acting_agent(body.agent if body else None, doing="acknowledge handoffs")
    return once(request, caller, {"handoff": handoff_id},
                                          lambda: svc.ack_handoff(handoff_id, agent=who))


@router.get("/policy", response_model=PolicyOut, tags=["policy"])
def current_policy(caller: Caller, svc: Service) -> PolicyOut:
    """The policy in force (its version is recorded on every decision)."""
    caller.require("admin", "reviewer", doing="read the policy")
    return PolicyOut(version=svc.policy.version, warnings=list(svc.policy.warnings),
                     text=svc.policy.text)


@router.post("/policy", response_model=PolicyOut, tags=["policy"])
def apply_policy(body: PolicyIn, request: Request, caller: Caller, svc: Service) -> JSONResponse:
    """Validate and apply a new accord.yaml without a restart; every replica follows."""
    caller.require("admin", doing="apply a policy")
    Policy.from_text(body.text, source="POST /v1/policy")  # a bad file is a 422 before anything

    def act() -> PolicyOut:
        new = svc.apply_policy(body.text, by=caller.label, source="POST /v1/policy")
        return PolicyOut(version=new.version, applied_at=svc.clock(), applied_by=caller.label,
                         warnings=list(new.warnings))

    return once(request, caller, body, act)


def _visible(m: Message, agent: str | None, readable: frozenset[str] | None) -> Message | None:
    """An agent's stream: what names it (decisions, revocations, handoffs, outcomes) and every
    context change in a field its grant may read (field names and version only; read the
    context for values). None: not for this stream."""
    if agent is None or agent in m.get("agents", ()):
        return m
    if m.get("kind") != "context":
        return None
    if readable is None:
        return m
    changed = [f for f in m.get("changed", ()) if f in readable]
    return {**m, "changed": changed} if changed else None


@router.get("/stream", tags=["stream"],
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "server-sent events, one per message"}})
async def stream(request: Request, caller: Caller, agent: str | None = None) -> Response:
    """Server-sent events: an agent's decisions, revocations, handoffs and context changes.
    Reviewers and admins see everything, or one agent's stream with ``?agent=``. Each event has
    an ``id``; reconnect with ``Last-Event-ID`` to get what was missed meanwhile. Each principal
    holds at most a few open streams (429 with Retry-After beyond them)."""
    who = caller.acting_agent(agent, doing="stream") if caller.is_agent else agent
    svc = request.app.state.service
    state: Any = request.app.state
    if getattr(state, "sse_history", None) is None:  # numbers messages before any stream sees them
        state.sse_history = History(svc.bus)
    history: History = state.sse_history
    readable = svc.readable(caller.subject) if caller.is_agent else None
    try:
        sub: Subscription = svc.subscribe(
            owner=caller.label, where=lambda m: _visible(m, who, readable) is not None)
    except TooManyStreams as exc:
        return JSONResponse(exc.to_problem(), status_code=exc.status, media_type=PROBLEM,
                            headers={"Retry-After": str(exc.retry_after)})
    # subscribed first, then the backlog: what arrives meanwhile is in both, and skipped by number
    last = history.cursor(request.headers.get("last-event-id"))
    backlog = history.after(last, timeout=0)

    def frame(n: int | None, shown: Message) -> str:
        data = json.dumps(jsonable_encoder(shown), separators=(",", ":"))
        head = f"id: {history.event_id(n)}\n" if n is not None else ""
        return f"{head}event: {shown.get('kind', 'message')}\ndata: {data}\n\n"

    async def events() -> AsyncIterator[str]:
        nonlocal last
        try:
            yield ": subscribed\n\n"
            quiet = time.monotonic()
            for kept_n, kept in backlog:
                last = kept_n
                replayed = _visible(kept, who, readable)
                if replayed is not None:
                    quiet = time.monotonic()
                    yield frame(kept_n, replayed)
            while True:  # awaits the bus on the event loop: an idle stream holds no thread
                m = await sub.next(max(0.0, KEEPALIVE - (time.monotonic() - quiet)))
                n = None if m is None else history.number(m)
                if n is not None and n <= last:
                    continue  # already sent from the backlog
                if n is not None:
                    last = n
                shown = None if m is None else _visible(m, who, readable)
                if shown is not None:
                    quiet = time.monotonic()
                    yield frame(n, shown)
                elif time.monotonic() - quiet >= KEEPALIVE:
                    quiet = time.monotonic()
                    yield ": keep-alive\n\n"
        finally:
            sub.close()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/attribution", tags=["attribution"])
def attribution(caller: Caller, svc: Service,
                model: Annotated[list[str] | None, Query()] = None,
                by: Literal["agent", "channel", "agent_set"] = "agent",
                lookback: str = "30d", budget: float | None = None) -> dict[str, Any]:
    """Credit conversions to agents, channels or agent combinations (reviewers and admins).
    ``model`` repeats: first_touch, last_touch, linear, time_decay, position, markov, shapley."""
    caller.require("admin", "reviewer", doing="read attribution")
    from accord._time import parse_duration
    from accord.attribution import attribution_report

    try:
        lookback_s = parse_duration(lookback)
    except ValueError as exc:
        raise InvalidInput(str(exc), where="lookback") from None
    report: dict[str, Any] = attribution_report(svc, models=model, by=by, lookback_s=lookback_s,
                                                budget=budget)
    return report


@router.get("/reports/lift", tags=["reports"])
def lift(caller: Caller, svc: Service, since: str | None = None,
         until: str | None = None) -> dict[str, Any]:
    """Treated customers against the policy holdout (reviewers and admins; docs/lift.md).
    ``since``: RFC 3339, epoch seconds or a duration before ``until`` (default 30d);
    ``until``: RFC 3339 or epoch seconds (default now)."""
    caller.require("admin", "reviewer", doing="read the lift report")
    from accord.lift import lift_report

    report: dict[str, Any] = lift_report(svc, since=since, until=until).to_dict()
    return report
