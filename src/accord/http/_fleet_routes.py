"""Seats, handoffs, the live stream and policy: the fleet over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse

from accord.bus import Message, Subscription
from accord.http._common import COMMON, Caller, Service, errors, once
from accord.http._shapes import AckIn, HandoffIn, PolicyIn, PolicyOut
from accord.ledger import FLEET
from accord.policy import Policy

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
    new = Policy.from_text(body.text, source="POST /v1/policy")

    def act() -> PolicyOut:
        now = time.time()
        with svc.store.lock(FLEET) as tx:
            tx.execute("INSERT INTO policies (version, text, applied_at, applied_by) VALUES "
                       "(?,?,?,?) ON CONFLICT (version) DO UPDATE SET applied_at = "
                       "excluded.applied_at, applied_by = excluded.applied_by",
                       (new.version, new.text, now, caller.label))
        previous = svc.policy.version
        svc.policy = new
        request.app.state.policy_watch.seen(now)
        svc.fleet_entry("policy", {"action": "apply", "version": new.version,
                                   "previous": previous, "by": caller.label})
        return PolicyOut(version=new.version, applied_at=now, applied_by=caller.label,
                         warnings=list(new.warnings))

    return once(request, caller, body, act)


def _visible(m: Message, agent: str | None) -> bool:
    """An agent's stream: what names it (decisions, revocations, handoffs, outcomes) and every
    context change (field names and version only; read the context for values)."""
    return agent is None or agent in m.get("agents", ()) or m.get("kind") == "context"


@router.get("/stream", tags=["stream"],
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "server-sent events, one per message"}})
async def stream(request: Request, caller: Caller, agent: str | None = None) -> StreamingResponse:
    """Server-sent events: an agent's decisions, revocations, handoffs and context changes.
    Reviewers and admins see everything, or one agent's stream with ``?agent=``."""
    who = caller.acting_agent(agent, doing="stream") if caller.is_agent else agent
    svc = request.app.state.service
    state: Any = request.app.state
    if getattr(state, "sse_threads", None) is None:
        state.sse_threads = anyio.CapacityLimiter(1000)
    sub: Subscription = svc.subscribe()

    async def events() -> AsyncIterator[str]:
        try:
            yield ": subscribed\n\n"
            quiet = time.monotonic()
            while True:
                m = await anyio.to_thread.run_sync(sub.get, 1.0, abandon_on_cancel=True,
                                                   limiter=state.sse_threads)
                if m is None:
                    if time.monotonic() - quiet > KEEPALIVE:
                        quiet = time.monotonic()
                        yield ": keep-alive\n\n"
                    continue
                if _visible(m, who):
                    quiet = time.monotonic()
                    data = json.dumps(jsonable_encoder(m), separators=(",", ":"))
                    yield f"event: {m.get('kind', 'message')}\ndata: {data}\n\n"
        finally:
            sub.close()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
