"""The service methods that had no route of their own: one touch, the ledger page by page, a
fleet entry, every handoff, refreshing the policy. With these, each public method of ``Accord``
has an HTTP route, so ``Client`` offers all of them (docs/api.md lists who may call what)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from accord._errors import Forbidden
from accord.fleet import Handoff
from accord.http._common import COMMON, Caller, Service, once
from accord.model import LedgerEntry, Touch

router = APIRouter(prefix="/v1", responses=COMMON)


class FleetEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$",
                      description="what happened, e.g. `review` or `incident`")
    body: dict[str, Any] = Field(description="the fact, as an object")
    agent: str | None = Field(default=None, max_length=200, description="the seat it concerns")


class Refreshed(BaseModel):
    changed: bool = Field(description="whether this replica adopted a newer policy")
    version: str = Field(description="the policy version in force now")


@router.get("/touches/{touch_id}", response_model=Touch, tags=["gate"])
def touch(touch_id: str, caller: Caller, svc: Service) -> Touch:
    """One touch (the slot a go holds) and what became of it; an agent reads only its own."""
    t = svc.touch(touch_id)
    if caller.is_agent and t.agent != caller.subject:
        raise Forbidden(f"touch {touch_id} belongs to {t.agent}, not {caller.subject}",
                        where="touch_id", hint="an agent reads only its own touches")
    return t


@router.get("/ledger", response_model=list[LedgerEntry], tags=["ledger"])
def ledger(caller: Caller, svc: Service,
           after: int = Query(0, ge=0, description="the last `seq` already read"),
           limit: int = Query(1000, ge=1, le=5000)) -> list[LedgerEntry]:
    """Ledger entries after ``after``, in order (page with the last ``seq`` you got)."""
    caller.require("reviewer", "admin", doing="read the ledger")
    return svc.ledger(after=after, limit=limit)


@router.post("/ledger/fleet", tags=["ledger"], status_code=200)
def fleet_entry(body: FleetEntryIn, request: Request, caller: Caller,
                svc: Service) -> JSONResponse:
    """Record a fleet-level fact (a review, an incident) in the fleet chain of the ledger."""
    caller.require("admin", doing="write fleet ledger entries")
    return once(request, caller, body,
                lambda: svc.fleet_entry(body.kind, body.body, agent=body.agent))


@router.get("/handoffs", response_model=list[Handoff], tags=["handoffs"])
def handoffs(caller: Caller, svc: Service) -> list[Handoff]:
    """Every handoff, oldest first (the audit's view; marks nothing read)."""
    caller.require("reviewer", "admin", doing="list every handoff")
    return svc.handoffs()


@router.post("/policy:refresh", response_model=Refreshed, tags=["policy"])
def refresh_policy(caller: Caller, svc: Service) -> Refreshed:
    """Make the replica that answers adopt a policy applied elsewhere now, not within a second."""
    caller.require("admin", doing="refresh the policy")
    return Refreshed(changed=svc.refresh_policy(), version=svc.policy.version)
