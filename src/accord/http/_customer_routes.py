"""A customer's data over HTTP, for admins: export it (data-subject access) and erase it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from accord.http._common import COMMON, Caller, Service, once

router = APIRouter(prefix="/v1", responses=COMMON, tags=["customers"])


@router.get("/customers/{customer}/export")
def export(customer: str, caller: Caller, svc: Service) -> dict[str, Any]:
    """Everything kept about the customer, as JSON: context, events, decisions, touches,
    claims, commitments, handoffs and its ledger chain."""
    caller.require("admin", doing="export a customer's data")
    return svc.export_customer(customer)


@router.post("/customers/{customer}/erase")
def erase(customer: str, request: Request, caller: Caller, svc: Service) -> JSONResponse:
    """Erase the customer's personal data (context, event data, handoff payloads, personal
    values in the ledger); the chain still verifies and records the erasure and who did it."""
    caller.require("admin", doing="erase a customer's data")
    return once(request, caller, {"customer": customer},
                lambda: svc.erase_customer(customer, by=caller.label))
