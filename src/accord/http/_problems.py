"""Errors as RFC 9457 problem details: every refusal says what was wrong, where and how to fix it.

Bad input is always a 4xx; a 5xx means a defect or an unavailable store, never the caller's
mistake.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from accord._errors import AccordError, field_errors, problem_details
from accord.model import MAX_BODY_BYTES

PROBLEM = "application/problem+json"

class PreconditionRequired(AccordError):
    title = "Precondition required"
    status = 428


def problem(status: int, title: str, detail: str, *, kind: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(problem_details(status, title, detail, kind=kind, **extra),
                        status_code=status, media_type=PROBLEM, headers=headers)


def _validation_problem(errors: Sequence[Any], prefix: tuple[str, ...] = ()) -> JSONResponse:
    problems = field_errors(errors, prefix=prefix)
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
    return problem(422, "Invalid input", detail, kind="InvalidInput", where=first["field"],
                   hint="fix the named fields; the request shapes are in /openapi.json and "
                        "docs/api.md", problems=problems)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(AccordError)
    async def accord_error(request: Request, exc: AccordError) -> JSONResponse:
        if exc.status in (401, 403):
            await run_in_threadpool(_record_refusal, request, exc)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.to_problem(), status_code=exc.status, media_type=PROBLEM,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc.errors())

    @app.exception_handler(ValidationError)
    async def model_error(request: Request, exc: ValidationError) -> JSONResponse:
        # input that passed the request schema but not a domain shape: still the caller's
        return _validation_problem(exc.errors(), ("body",))

    @app.exception_handler(OverflowError)
    async def overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # a timestamp or number too large for the platform (e.g. "at": 1e300)
        return problem(422, "Invalid input", f"a value is out of range: {exc}",
                       kind="InvalidInput", where="body",
                       hint="timestamps are RFC 3339 or epoch seconds between 1970 and 9999")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed",
                 413: "Content too large"}.get(exc.status_code, "Error")
        detail = str(exc.detail)
        headers = dict(exc.headers) if exc.headers else {}
        extra: dict[str, Any] = {}
        if exc.status_code == 404:
            detail = (f"no endpoint at {request.url.path} (the API lives under /v1; "
                      "see /openapi.json)")
        elif exc.status_code == 405:
            allowed = _allowed(app, request)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed on {request.url.path}"
            extra = {"where": "method", "hint": f"use {' or '.join(allowed)}"}
        elif exc.status_code == 413:
            detail = f"the request body is over {MAX_BODY_BYTES} bytes"
            extra = {"where": "body", "hint": "send less at once: split a batch, or keep large "
                                              "documents outside Accord and send a reference"}
            return problem(413, title, detail, kind="ContentTooLarge", **extra)
        return problem(exc.status_code, title, detail, headers=headers or None, **extra)

    @app.exception_handler(NotImplementedError)
    async def not_implemented(request: Request, exc: NotImplementedError) -> JSONResponse:
        return problem(501, "Not implemented",
                       f"{request.url.path} is not available in this version of the service",
                       hint="upgrade the server; the endpoint is part of the documented API")


def _allowed(app: FastAPI, request: Request) -> list[str]:
    """Every method some route accepts on this path (Starlette names only the first route's)."""
    return [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if any(route.matches({**request.scope, "method": m})[0] is Match.FULL
                   for route in app.router.routes)]


def _record_refusal(request: Request, exc: AccordError) -> None:
    """Every 401/403 lands in the fleet chain of the ledger: who tried what, and why not."""
    principal = getattr(request.state, "principal", None)
    service = request.app.state.service
    if principal is None and exc.status == 401:  # counted per source, not one entry each
        request.app.state.refusals.add(request.client.host if request.client else None,
                                       request.method, request.url.path, exc.message)
        return
    body = {"status": exc.status, "method": request.method, "path": request.url.path,
            "reason": exc.message, "principal": principal.label if principal else None,
            "protocol": "http"}
    # the refusal itself stands even if the store cannot record it right now
    with contextlib.suppress(AccordError):
        service.fleet_entry("refusal", body,
                            agent=principal.subject if principal and principal.is_agent else None)
