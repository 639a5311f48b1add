"""Customers' shared context, events and claims.

Context reads carry the version as an ETag; writes name it in If-Match, and a stale one is a 412
with the current version, never a silent merge.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from accord._errors import AccordError, Forbidden, InvalidInput
from accord.http._common import COMMON, IF_MATCH, Caller, Service, errors, once
from accord.http._problems import PreconditionRequired
from accord.http._shapes import ClaimIn, EventIn, EventResult, EventsIn, EventsOut, Released
from accord.model import Claim, Context, Event, JsonValue, Text

router = APIRouter(prefix="/v1", responses=COMMON)
_WRITE = errors(412, 428)


def _etag(version: int) -> str:
    return f'"{version}"'


def _if_match(request: Request) -> int:
    raw = request.headers.get("if-match")
    if raw is None:
        raise PreconditionRequired("a context write must name the version it read",
                                   where="If-Match",
                                   hint='send If-Match: "<version>" with the ETag of '
                                        "GET /v1/customers/{id}/context")
    text = raw.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise InvalidInput(f"If-Match must be a context version like \"3\", not {raw!r}",
                           where="If-Match", hint="copy the ETag of the context you read")
    return int(text)


@router.get("/customers/{customer}/context", response_model=Context, tags=["context"])
def context(customer: str, response: Response, caller: Caller, svc: Service,
            agent: str | None = None) -> Context:
    """The customer's context; an agent sees only the fields its grant may read (a person may
    ask for what ``?agent=`` would see)."""
    if caller.is_agent:
        agent = caller.acting_agent(agent, doing="read context")
    ctx = svc.context(customer, agent=agent)
    response.headers["ETag"] = _etag(ctx.version)
    return ctx


def _write(customer: str, changes: dict[str, Any], request: Request, caller: Caller,
           svc: Service, named: str | None = None) -> JSONResponse:
    caller.require("agent", "admin", doing="write context")
    expected = _if_match(request)
    # an admin may write within one agent's grant with ?agent= (as Accord.update_context does)
    agent = caller.acting_agent(named, doing="write context") if caller.is_agent else named

    def act() -> Context:
        return svc.update_context(customer, changes, expected_version=expected, agent=agent,
                                  actor=None if agent else caller.label)

    resp = once(request, caller, {"changes": changes, "if_match": expected, "agent": agent},
                act)
    resp.headers["ETag"] = _etag(int(json.loads(bytes(resp.body))["version"]))
    return resp


@router.patch("/customers/{customer}/context", response_model=Context, tags=["context"],
              responses=_WRITE, openapi_extra=IF_MATCH)
def patch_context(customer: str, request: Request, caller: Caller, svc: Service,
                  changes: dict[Text, JsonValue] = Body(  # noqa: B008
                      description="fields to set; null removes a field (JSON merge patch)"),
                  agent: str | None = None) -> JSONResponse:
    """Change some fields, naming the version read in If-Match (412 if it moved on); an admin
    may write within one seat's grant with ``?agent=``."""
    return _write(customer, changes, request, caller, svc, agent)


@router.put("/customers/{customer}/context", response_model=Context, tags=["context"],
            responses=_WRITE, openapi_extra=IF_MATCH)
def put_context(customer: str, request: Request, caller: Caller, svc: Service,
                fields: dict[Text, JsonValue] = Body(  # noqa: B008
                    description="the whole field set; fields left out are removed")
                ) -> JSONResponse:
    """Replace the fields this caller may write (an agent: within its grant)."""
    current = svc.context(customer, agent=caller.subject if caller.is_agent else None).fields
    changes: dict[str, Any] = {k: None for k in current if k not in fields}
    if caller.is_agent:
        seat = svc.policy.agents.get(caller.subject)
        writable = seat.context.write if seat else []
        if "*" not in writable:
            changes = {k: v for k, v in changes.items() if k in writable}
    changes.update(fields)
    if not changes:
        raise InvalidInput("the new field set is the same as the current one", where="body")
    return _write(customer, changes, request, caller, svc)


def _source(caller: Caller, source: str | None) -> str | None:
    if caller.role == "reviewer":
        raise Forbidden("a reviewer token may not record events", where="Authorization",
                        hint="record events with an agent or admin token")
    if caller.is_agent:
        return caller.acting_agent(source, doing="record events", where="source")
    return source


def _record(svc: Service, caller: Caller, e: EventIn) -> Event:
    return svc.record_event(e.customer, e.type, at=e.at, data=e.data,
                            source=_source(caller, e.source), event_id=e.event_id)


@router.post("/events", response_model=Event, tags=["events"])
def record_event(body: EventIn, request: Request, caller: Caller, svc: Service) -> JSONResponse:
    """A fact about a customer; reducers update the context and revoke what it now forbids."""
    _source(caller, body.source)
    return once(request, caller, body,
                                          lambda: _record(svc, caller, body))


@router.post("/events:batch", response_model=EventsOut, tags=["events"])
@router.post("/events/batch", response_model=EventsOut, tags=["events"],
             include_in_schema=False)
def record_events(body: EventsIn, request: Request, caller: Caller,
                  svc: Service) -> JSONResponse:
    """Up to 1,000 events; each commits on its own and gets its own result or problem."""
    for e in body.events:
        _source(caller, e.source)

    def act() -> EventsOut:
        results = []
        for i, e in enumerate(body.events):
            try:
                results.append(EventResult(ok=True, event=_record(svc, caller, e)))
            except AccordError as exc:
                exc.where = f"events.{i}.{exc.where}" if exc.where else f"events.{i}"
                results.append(EventResult(ok=False, problem=exc.to_problem()))
        return EventsOut(results=results)

    return once(request, caller, body, act)


@router.post("/claims", response_model=Claim, tags=["claims"])
def claim(body: ClaimIn, request: Request, caller: Caller, svc: Service) -> JSONResponse:
    """Declare interest in a customer until a time; lower-precedence agents defer meanwhile."""
    agent = caller.acting_agent(body.agent, doing="claim")
    return once(
        request, caller, body, lambda: svc.claim(agent, body.customer, body.purpose, body.until))


@router.delete("/claims", response_model=Released, tags=["claims"])
def release(customer: str, request: Request, caller: Caller, svc: Service,
            agent: str | None = None) -> JSONResponse:
    """Release the agent's open claims on ``customer``."""
    who = caller.acting_agent(agent, doing="release claims")
    return once(
        request, caller, {"customer": customer, "agent": who},
        lambda: Released(released=svc.release(who, customer)))
