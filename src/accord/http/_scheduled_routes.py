"""Kept proposals over HTTP: read one (``Decision.follow_up`` names it) and cancel it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from accord._errors import Forbidden
from accord.http._common import COMMON, Caller, Service, once
from accord.model import Scheduled

router = APIRouter(prefix="/v1", responses=COMMON)


@router.get("/scheduled/{scheduled_id}", response_model=Scheduled, tags=["gate"])
def scheduled(scheduled_id: str, caller: Caller, svc: Service) -> Scheduled:
    """A deferred proposal Accord keeps: waiting (``due_at`` is its next re-decision), done,
    lapsed or cancelled, with every decision it produced."""
    s = svc.scheduled(scheduled_id)
    if caller.is_agent and s.agent != caller.subject:
        raise Forbidden(f"scheduled proposal {scheduled_id} belongs to {s.agent}, not "
                        f"{caller.subject}", where="scheduled_id",
                        hint="an agent reads only its own")
    return s


@router.post("/scheduled/{scheduled_id}/cancel", response_model=Scheduled, tags=["gate"])
def cancel_scheduled(scheduled_id: str, request: Request, caller: Caller, svc: Service,
                     agent: str | None = None) -> JSONResponse:
    """Stop re-deciding a kept proposal: an agent only its own; an admin any (naming the agent
    it expects with ``?agent=``). A finished one answers 409 saying how it ended."""
    caller.require("agent", "admin", doing="cancel scheduled proposals")
    if caller.is_agent:
        agent = caller.acting_agent(agent, doing="cancel scheduled proposals")
    return once(request, caller, {"scheduled_id": scheduled_id},
                lambda: svc.cancel_scheduled(scheduled_id, agent=agent))
