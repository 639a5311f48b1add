"""Seats over HTTP: anyone with a token lists them; an admin registers, changes, pauses,
resumes and retires them (each change is a fleet ledger entry, seen by every replica)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from accord.fleet import Seat, SeatChange
from accord.http._common import COMMON, Caller, Service, once

router = APIRouter(prefix="/v1", responses=COMMON, tags=["fleet"])


class PauseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the seat is paused")


@router.get("/agents", response_model=list[Seat])
def agents(caller: Caller, svc: Service) -> list[Seat]:
    """The seats: owner, mandate, precedence and status (file and registry combined)."""
    return svc.seats()


@router.get("/agents:removed-from-file", response_model=list[str])
def removed_from_file(caller: Caller, svc: Service) -> list[str]:
    """Seats the registry learned from the policy file that the file no longer declares."""
    return svc.seats_removed_from_file()


@router.get("/agents/{agent_id}", response_model=Seat)
def agent(agent_id: str, caller: Caller, svc: Service) -> Seat:
    return svc.seat(agent_id)


@router.post("/agents", response_model=SeatChange)
def register(request: Request, caller: Caller, svc: Service,
             spec: dict[str, Any] = Body(  # noqa: B008
                 description="a seat as in accord.yaml's agents: id, owner, mandate, …")
             ) -> JSONResponse:
    caller.require("admin", doing="register seats")
    return once(request, caller, spec, lambda: svc.register_seat(spec, by=caller.label))


@router.patch("/agents/{agent_id}", response_model=SeatChange)
def update(agent_id: str, request: Request, caller: Caller, svc: Service,
           changes: dict[str, Any] = Body(  # noqa: B008
               description="top-level seat keys to replace")) -> JSONResponse:
    caller.require("admin", doing="change seats")
    return once(request, caller, changes,
                lambda: svc.update_seat(agent_id, changes, by=caller.label))


@router.post("/agents/{agent_id}/pause", response_model=SeatChange)
def pause(agent_id: str, body: PauseIn, request: Request, caller: Caller,
          svc: Service) -> JSONResponse:
    """The kill switch: the seat's next proposal stops on every replica; pending touches are
    revoked now."""
    caller.require("admin", doing="pause seats")
    return once(request, caller, body,
                lambda: svc.pause_seat(agent_id, by=caller.label, reason=body.reason))


@router.post("/agents/{agent_id}/resume", response_model=SeatChange)
def resume(agent_id: str, request: Request, caller: Caller, svc: Service) -> JSONResponse:
    caller.require("admin", doing="resume seats")
    return once(request, caller, {}, lambda: svc.resume_seat(agent_id, by=caller.label))


@router.post("/agents/{agent_id}/retire", response_model=SeatChange)
def retire(agent_id: str, request: Request, caller: Caller, svc: Service) -> JSONResponse:
    caller.require("admin", doing="retire seats")
    return once(request, caller, {}, lambda: svc.retire_seat(agent_id, by=caller.label))
