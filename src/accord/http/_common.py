"""What every route module shares: the service, the caller, and the documented error answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from accord.http._auth import Principal, authenticate
from accord.http._idem import Requests
from accord.http._problems import PROBLEM
from accord.http._shapes import Problem
from accord.service import Accord

Caller = Annotated[Principal, Depends(authenticate)]


async def service(request: Request) -> Accord:
    svc: Accord = request.app.state.service
    return svc


Service = Annotated[Accord, Depends(service)]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem answers an endpoint can give."""
    text = {400: "Bad request", 401: "No or unknown bearer token",
            403: "The token's role or grant does not allow this", 404: "Not found",
            409: "Conflict (state, or an Idempotency-Key reused with another body)",
            412: "Stale If-Match version", 413: "The request body is over 4 MiB",
            422: "Invalid input: which field and how to fix it",
            428: "If-Match is required", 429: "Overloaded: retry after Retry-After seconds",
            501: "Not available in this version", 503: "Store unavailable: retry"}
    schema = Problem.model_json_schema()
    return {c: {"description": text[c], "content": {PROBLEM: {"schema": schema}}}
            for c in codes}


COMMON = errors(400, 401, 403, 404, 409, 413, 422, 429, 503)

IF_MATCH: dict[str, Any] = {"parameters": [{
    "name": "If-Match", "in": "header", "required": True,
    "description": 'the context version you read, as its ETag: "3" (428 if missing, 412 if '
                   "stale, 422 if not a version number)",
    "schema": {"type": "string", "pattern": '^(W/)?"?[0-9]{1,18}"?$', "maxLength": 24}}]}
"""The If-Match header of context writes, for the OpenAPI schema (the route reads it itself)."""


def once(request: Request, caller: Principal, payload: Any, action: Callable[[], Any], *,
         status: int = 200) -> JSONResponse:
    """Run a write once per Idempotency-Key (see ``_idem``)."""
    requests: Requests = request.app.state.requests
    return requests.run(request, caller, payload, action, status=status)
