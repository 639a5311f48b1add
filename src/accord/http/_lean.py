"""The lean path for ``POST /v1/proposals``: the one request a busy server answers most, taken
before FastAPI's routing and dependency machinery, and decided on a lane of threads sized to the
store's connection pool.

What it skips is framework work, never a check: the request still passes every middleware the
app installs around its routes (request telemetry, the NUL and body-size limits, the in-flight
bound), and the lean path only takes the request when the ordinary route would answer it with a
decision. Before anything is decided it checks, with no side effect, that

- the bearer token is one the token cache already knows (a cache miss needs a store read),
- the body is JSON (``Content-Type: application/json``, with a ``Content-Length``), an object,
  and a valid proposal (``ProposalIn``, then the domain ``Proposal``),
- the token may propose as the proposal's agent, and the ``Idempotency-Key`` header (if any) is
  well formed and agrees with the body's ``idempotency_key``.

If any of that fails, the request goes to the ordinary route with its body replayed, so every
refusal (401, 403, 409, 422, …) is the route's own answer, recorded as the route records it.
Once the checks pass it does what the route and its ``authenticate`` dependency do (the
principal on the request's state, the agent's interface use counted), decides with
``Accord.submit`` on the lane, and answers the same bytes with the same headers; an error from
the decision goes to the app's own exception handlers, as the route's would.

Why a lane and not AnyIO's thread pool: each decision holds a pooled connection for its whole
transaction, so more threads than connections only queue on the pool, and the hand-off is one
C queue put and one ``call_soon_threadsafe`` per request. The context (the request's span) is
carried into the thread, as AnyIO carries it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
import queue
import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord._errors import AccordError
from accord.http._auth import Principal, Tokens
from accord.http._idem import MAX_KEY
from accord.http._shapes import ProposalIn
from accord.model import Proposal
from accord.service import Accord

PATH = "/v1/proposals"
JSON = b"application/json"

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context,
             Callable[..., Any], tuple[Any, ...]]


class Lane:
    """``threads`` worker threads taking jobs from one queue; ``run`` awaits a job's result on
    the event loop without blocking it."""

    def __init__(self, threads: int, name: str = "accord-decide") -> None:
        self.threads = max(1, threads)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(self.threads)]
        for worker in self._workers:
            worker.start()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((loop, future, contextvars.copy_context(), fn, args))
        return await future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, ctx, fn, args = job
            try:
                result = ctx.run(fn, *args)
            except BaseException as exc:  # the awaiting request handles it
                _settle(loop, future, None, exc)
            else:
                _settle(loop, future, result, None)

    def close(self) -> None:
        """Finish the queued jobs, then stop the threads."""
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.join(timeout=10)


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any,
            exc: BaseException | None) -> None:
    def settle() -> None:
        if future.cancelled():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop closed: nobody awaits the answer
        loop.call_soon_threadsafe(settle)


class LeanProposals:
    """ASGI middleware, the innermost the app installs: ``POST /v1/proposals`` the ordinary
    route would decide is decided here; everything else passes through unchanged. It takes
    requests only while the app's ``state.lane`` is set (its lifespan sets it)."""

    def __init__(self, app: ASGIApp, api: Any) -> None:
        self.app = app
        self.api = api
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane: Lane | None = self.api.state.lane
        if (lane is None or scope["type"] != "http" or scope["path"] != PATH
                or scope["method"] != "POST" or scope.get("root_path")
                or scope.get("fastapi.telemetry") is not None):
            await self.app(scope, receive, send)
            return
        token = key = None
        has_length = chunked = False
        content_type = None
        for name, value in scope["headers"]:  # the first of each, as Starlette's headers.get
            if name == b"authorization":
                token = value if token is None else token
            elif name == b"content-type":
                content_type = value if content_type is None else content_type
            elif name == b"content-length":
                has_length = True
            elif name == b"idempotency-key":
                key = value if key is None else key
            elif name == b"transfer-encoding":
                chunked = True
        json_body = (content_type is not None
                     and content_type.split(b";", 1)[0].strip().lower() == JSON)
        state: Any = self.api.state
        principal = _cached(state.tokens, token)
        if principal is None or not json_body or not has_length or chunked:
            await self.app(scope, receive, send)
            return
        body, more = await _read(receive)
        if more is None:
            return  # the client went away before sending its proposal
        proposal = _proposal(body, principal, key)
        if proposal is None:  # the route answers it, refusal and all
            await self.app(scope, _replay(body, more, receive), send)
            return
        request = Request(scope, receive)
        request.state.principal = principal  # as `authenticate` leaves it
        if principal.is_agent:
            state.usage.note(principal.subject)
        route = self._route or self._find_route()
        scope.update(route=route, endpoint=route.endpoint, path_params={})
        try:
            answer = await lane.run(_decide, state.service, proposal)
        except Exception as exc:
            response = await self._handled(request, exc)
            if response is None:
                raise  # a defect: the server-error middleware around us answers the 500
        else:
            response = Response(answer, media_type="application/json")
        await response(scope, receive, send)

    def _find_route(self) -> Any:
        """The route's own object, as routing leaves it on the scope (telemetry names the span
        after its path)."""
        from accord.http._gate_routes import router

        for route in router.routes:
            if getattr(route, "path", None) == PATH and "POST" in getattr(route, "methods", ()):
                self._route = route
                return route
        raise RuntimeError(f"the app has no POST {PATH} route")

    async def _handled(self, request: Request, exc: Exception) -> Response | None:
        """What the app's exception handlers answer for ``exc`` (None: no handler, a 500)."""
        handlers = self.api.exception_handlers
        handler = None
        if isinstance(exc, HTTPException):
            handler = handlers.get(exc.status_code)
        if handler is None:
            for cls in type(exc).__mro__:
                if cls in handlers and cls is not Exception:
                    handler = handlers[cls]
                    break
        if handler is None:
            return None
        if inspect.iscoroutinefunction(handler):
            response: Response = await handler(request, exc)
        else:
            response = await run_in_threadpool(handler, request, exc)
        return response


def _decide(service: Accord, proposal: Proposal) -> bytes:
    # as the route: serialized once, the answer is not validated again
    return service.submit(proposal).model_dump_json().encode()


def _cached(tokens: Tokens, header: bytes | None) -> Principal | None:
    """The principal of a bearer token the cache knows; None sends the request to the route
    (no header, another scheme, an unknown or uncached token)."""
    if not header:
        return None
    scheme, _, token = header.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    hit, principal = tokens.cached(token)
    return principal if hit else None


def _proposal(body: bytes, principal: Principal, key: bytes | None) -> Proposal | None:
    """The proposal to decide, exactly as the route builds it, or None if the route would
    refuse the request (or might: anything unusual goes to the route)."""
    if not body:
        return None
    try:
        data = json.loads(body)  # what the route's `request.json()` does
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        proposal = ProposalIn.model_validate(data).domain()
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None
    try:
        principal.acting_agent(proposal.agent, doing="propose", where="agent")
    except AccordError:
        return None
    if key is not None:
        text = key.decode("latin-1").strip()
        if not text or len(text) > MAX_KEY:
            return None
        if proposal.idempotency_key not in (None, text):
            return None
        proposal = proposal.model_copy(update={"idempotency_key": text})
    return proposal


async def _read(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, and the last message read (None if the client disconnected)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks), message


def _replay(body: bytes, last: Message, receive: Receive) -> Receive:
    """``receive`` for the route: the body already read, then whatever comes next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {**last, "body": body, "more_body": False}
        return await receive()

    return replay


__all__ = ["Lane", "LeanProposals"]
