"""Proposals, outcomes, decisions, approvals and the ledger: the gate over HTTP."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from accord._errors import Forbidden, InvalidInput
from accord.http._common import COMMON, Caller, Service, once
from accord.http._idem import key_of
from accord.http._shapes import BatchIn, OutcomeIn, ProposalIn, ReviewIn
from accord.model import Decision, LedgerEntry, LedgerReport, Touch
from accord.service._batch import MAX_KEY

router = APIRouter(prefix="/v1", responses=COMMON)


@router.post("/proposals", response_model=Decision, tags=["gate"])
def propose(body: ProposalIn, request: Request, caller: Caller, svc: Service) -> Response:
    """Ask the gate. The answer is final and already recorded; a go holds the contact slot.

    An ``Idempotency-Key`` header becomes the proposal's ``idempotency_key``: a retry returns
    the same decision, on any replica."""
    proposal = body.domain()
    caller.acting_agent(proposal.agent, doing="propose", where="agent")
    key = key_of(request)
    if key is not None:
        if proposal.idempotency_key not in (None, key):
            raise InvalidInput("the Idempotency-Key header and the body's idempotency_key differ",
                               where="idempotency_key", hint="send one of them, or the same "
                                                           "value in both")
        proposal = proposal.model_copy(update={"idempotency_key": key})
    # serialized once, here: the hot path skips re-validating the answer
    return Response(svc.submit(proposal).model_dump_json(), media_type="application/json")


@router.post("/proposals:batch", response_model=list[Decision], tags=["gate"])
def propose_batch(body: BatchIn, request: Request, caller: Caller,
                  svc: Service) -> JSONResponse:
    """Decide a planning round together: for each customer, the contact slots go to the
    highest-value set of these proposals that the rules allow (score = value × uplift;
    precedence, then submission order, break ties). Answers come in submission order; a loser
    carries the rule that stopped it and an ``arbitration`` reason naming who took the slot.

    With an ``Idempotency-Key`` header (at most 190 characters here) a retry of the same batch
    gets the same answers, on any replica, and the same key with a different batch is a 409.
    The key also keys every proposal that has none of its own (``<key>/<position>``), so a
    retry after a failure part-way decides only the customers not yet decided."""
    proposals = [item.domain() for item in body.proposals]
    for i, p in enumerate(proposals):
        caller.acting_agent(p.agent, doing="propose", where=f"proposals.{i}.agent")
    key = key_of(request)
    if key is not None and len(key) > MAX_KEY:
        raise InvalidInput(f"a batch's Idempotency-Key is at most {MAX_KEY} characters",
                           where="Idempotency-Key", hint="use a UUID per planning round: each "
                                                         "proposal's key is <key>/<position>")
    return once(request, caller, body,
                lambda: svc.propose_batch(proposals, idempotency_key=key))


@router.post("/touches/{touch_id}/outcome", response_model=Touch, tags=["gate"])
def report_outcome(touch_id: str, body: OutcomeIn, request: Request, caller: Caller,
                   svc: Service, agent: str | None = None) -> JSONResponse:
    """Say what became of a go: executed, failed or cancelled (an agent only for its own;
    an admin may name the agent it expects with ``?agent=``)."""
    caller.require("agent", "admin", doing="report outcomes")
    if caller.is_agent:
        agent = caller.acting_agent(agent, doing="report outcomes")
    return once(
        request, caller, body, lambda: svc.report_outcome(touch_id, body.status, agent=agent,
                                                          detail=body.detail))


@router.get("/decisions/{decision_id}", response_model=Decision, tags=["gate"])
def decision(decision_id: str, caller: Caller, svc: Service) -> Decision:
    d = svc.decision(decision_id)
    if caller.is_agent and d.proposal.agent != caller.subject:
        raise Forbidden(f"decision {decision_id} belongs to {d.proposal.agent}, not "
                        f"{caller.subject}", where="decision_id",
                        hint="an agent reads only its own decisions")
    return d


@router.get("/approvals", response_model=list[Decision], tags=["approvals"])
def approvals(caller: Caller, svc: Service) -> list[Decision]:
    """Flagged proposals waiting for a human, oldest first."""
    caller.require("reviewer", "admin", doing="list approvals")
    return svc.approvals()


def _review(approve: bool, decision_id: str, body: ReviewIn | None, request: Request,
            caller: Caller, svc: Service) -> JSONResponse:
    caller.require_review(doing="approve or reject" if approve else "reject")
    note = body.note if body else None
    act = svc.approve if approve else svc.reject
    return once(
        request, caller, body, lambda: act(decision_id, reviewer=caller.subject, note=note))


@router.post("/approvals/{decision_id}/approve", response_model=Decision, tags=["approvals"])
def approve(decision_id: str, request: Request, caller: Caller, svc: Service,
            body: ReviewIn | None = None) -> JSONResponse:
    """A reviewer approves: the gate re-runs on the context as it is now (flags lifted)."""
    return _review(True, decision_id, body, request, caller, svc)


@router.post("/approvals/{decision_id}/reject", response_model=Decision, tags=["approvals"])
def reject(decision_id: str, request: Request, caller: Caller, svc: Service,
           body: ReviewIn | None = None) -> JSONResponse:
    return _review(False, decision_id, body, request, caller, svc)


@router.get("/traces/{trace_id}", response_model=list[LedgerEntry], tags=["ledger"])
def trace(trace_id: str, caller: Caller, svc: Service) -> list[LedgerEntry]:
    """Every ledger entry of a multi-agent decision chain, in order."""
    caller.require("reviewer", "admin", doing="read traces")
    return svc.trace(trace_id)


@router.get("/ledger/verify", response_model=LedgerReport, tags=["ledger"])
def verify_ledger(caller: Caller, svc: Service) -> LedgerReport:
    """Recompute every hash chain; ``problems`` names each entry that does not hold."""
    caller.require("reviewer", "admin", doing="verify the ledger")
    return svc.verify_ledger()
