"""The app factory: one FastAPI app over one ``Accord`` service, versioned under /v1.

Handlers are thin: authorize, call the service, shape the answer. Background work (batched
interface counts, following the newest policy, webhook deliveries, re-deciding kept
proposals) runs in threads started by the app's lifespan, so ``create_app`` itself does no
I/O beyond reading the policies table.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from accord.delivery import Dispatcher
from accord.delivery._config import DeliverySettings
from accord.http import (
    _collector,
    _context_routes,
    _customer_routes,
    _delivery_routes,
    _docs,
    _fleet_routes,
    _gate_routes,
    _ledger_routes,
    _problems,
    _records_routes,
    _scheduled_routes,
    _seat_routes,
    _telemetry,
    webhooks,
)
from accord.http._auth import Principal, Refusals, Tokens, Usage
from accord.http._idem import Requests
from accord.http._lean import Lane, LeanProposals
from accord.http._limits import Limits
from accord.http._overload import InFlight, OverloadLimiter
from accord.scheduler import Scheduler
from accord.service import Accord

DESCRIPTION = """The gate every customer-facing action of every agent passes, over HTTP.

Send `Authorization: Bearer <token>` (create one with `accord token create`) and an
`Idempotency-Key` on every write. Errors are RFC 9457 problem details. See docs/api.md."""


class Housekeeper:
    """One thread for the cheap periodic chores."""

    def __init__(self, chores: list[tuple[float, Callable[[], object]]]) -> None:
        self.chores = [[every, 0.0, fn] for every, fn in chores]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="accord-housekeeping",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._tick(force=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self._tick()

    def _tick(self, force: bool = False) -> None:
        now = time.monotonic()
        for chore in self.chores:
            every, last, fn = chore
            if force or now - float(last) >= float(every):  # type: ignore[arg-type]
                chore[1] = now
                with contextlib.suppress(Exception):  # the next tick retries
                    fn()  # type: ignore[operator]


def create_app(service: Accord, *, max_in_flight: int = 64, retry_after: int = 1,
               webhook_attempts: int = 8, webhook_backoff: float = 1.0,
               policy_poll: float = 1.0, background: bool = True,
               base_url: str | None = None, close_service: bool = False,
               delivery: DeliverySettings | None = None, metrics: bool | None = None,
               metrics_token: str | None = None, threads: int | None = None,
               freeze_gc: bool = True, lean: bool = True) -> FastAPI:
    """Build the HTTP API over ``service``.

    ``max_in_flight`` bounds concurrent requests (beyond it: 429 + Retry-After);
    ``webhook_attempts``/``webhook_backoff`` shape delivery retries (backoff doubles each time);
    ``policy_poll`` is how often a replica checks for a newer applied policy;
    ``background=False`` starts no threads (for schema-only use);
    ``close_service`` closes ``service`` when the app shuts down (a worker that opened it);
    ``delivery`` configures the outbox's senders and inbound reports (default: from the
    environment, see ``accord.delivery._config``);
    ``metrics`` serves ``/metrics`` (default: when prometheus-client is installed), giving
    ``service`` a metrics set if it has none; ``metrics_token`` is a bearer token that may read
    it besides admin tokens (docs/observability.md);
    ``threads`` bounds the worker threads that run handlers (default: the store's connection
    pool size, so requests wait for a connection in one queue instead of as threads fighting
    for it; 40, AnyIO's default, on a store without a pool);
    ``freeze_gc`` freezes what start-up built out of the garbage collector's way
    (``accord.http._collector``);
    ``lean`` decides ``POST /v1/proposals`` before FastAPI's routing, on a lane of ``threads``
    threads, with the route's checks and answers (``accord.http._lean``)."""
    if metrics if metrics is not None else _telemetry.metrics_available():
        _telemetry.enable_metrics(service)
    settings = delivery if delivery is not None else DeliverySettings.from_env(os.environ)
    sending = (Dispatcher(service, settings.senders, base_url=base_url, rates=settings.rates)
               if settings.senders else None)
    dispatcher = webhooks.Dispatcher(service, attempts=webhook_attempts, backoff=webhook_backoff)
    scheduler = Scheduler(service)
    usage = Usage(service.store)
    refusals = Refusals(service)
    house = Housekeeper([(2.0, usage.flush), (policy_poll, service.refresh_policy),
                         (1.0, refusals.flush)])

    threads = threads or getattr(service.store, "pool_size", None)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()  # this loop's, mounts too
        if threads:
            limiter.total_tokens = threads
        state.threads = limiter.total_tokens
        if lean:
            state.lane = Lane(int(limiter.total_tokens))
        if background:
            dispatcher.start()
            scheduler.start()
            house.start()
            if sending is not None:
                sending.start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                for enter in app.state.lifespans:  # mounted apps' lifespans do not run
                    await stack.enter_async_context(enter())
                if freeze_gc:  # last: everything start-up builds is built by now
                    _collector.freeze()
                    stack.callback(_collector.thaw)
                yield
        finally:
            lane, state.lane = state.lane, None
            if lane is not None:
                lane.close()
            if background:
                dispatcher.stop()
                scheduler.stop()
                house.stop()
                if sending is not None:
                    sending.stop()
            with contextlib.suppress(Exception):  # the last window's unauthenticated refusals
                refusals.flush(final=True)
            if close_service:
                service.close()

    app = FastAPI(title="Accord", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # _docs serves them without a CDN
    state: Any = app.state
    state.service = service
    state.tokens = Tokens(service.store)
    state.usage = usage
    state.refusals = refusals
    state.requests = Requests()
    state.webhooks = dispatcher
    state.in_flight = InFlight(max_in_flight, retry_after)
    state.inbound_secret = settings.inbound_secret
    state.twilio_auth_token = settings.twilio_auth_token
    state.public_url = base_url
    state.outbox_dispatcher = sending
    state.send_rates = settings.rates
    state.scheduler = scheduler
    state.lifespans = []
    state.threads = None
    state.lane = None
    _problems.install(app)
    for module in (_gate_routes, _context_routes, _customer_routes, _ledger_routes,
                   _seat_routes, _fleet_routes, _records_routes, webhooks, _delivery_routes,
                   _scheduled_routes):
        app.include_router(module.router)

    _docs.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        g = state.in_flight
        return {"ok": True, "policy_version": service.policy.version, "in_flight": g.current,
                "limit": g.limit,
                "threads": state.threads}

    _mount_protocols(app, service, base_url)
    app.add_middleware(LeanProposals, api=app)  # innermost: inside every check below
    app.add_middleware(OverloadLimiter, gauge=state.in_flight)
    app.add_middleware(Limits)
    _telemetry.install(app, service, metrics_token=metrics_token)  # outermost: spans see 429s
    return app


def _mount_protocols(app: FastAPI, service: Accord, base_url: str | None) -> None:
    """MCP at /mcp and A2A (agent card and JSON-RPC), when those modules are installed."""
    from accord.protocols._actions import not_an_agent

    tokens: Tokens = app.state.tokens

    def resolve_agent(token: str) -> str | None:
        p: Principal | None = tokens.resolve(token)
        if p is not None and not p.is_agent:
            raise not_an_agent(p.role)   # 403 on /mcp and /a2a: known, but not an agent
        return p.subject if p is not None else None

    try:
        from accord.protocols import mcp
    except ImportError:
        pass
    else:
        mcp_app = mcp.build_asgi(service, resolve_agent)
        app.mount("/mcp", mcp_app)
        app.state.lifespans.append(mcp_app.lifespan)
    try:
        from accord.protocols import a2a
    except ImportError:
        pass
    else:
        for route in a2a.routes(service, base_url or "http://127.0.0.1:8000",
                                resolve_agent=resolve_agent):
            app.router.routes.append(route)
    try:
        from accord import web
    except ImportError:
        pass
    else:
        def resolve_role(token: str) -> tuple[str, str] | None:
            p: Principal | None = tokens.resolve(token)
            return (p.role, p.subject) if p is not None else None

        app.mount("/ui", web.build_asgi(service, resolve_role=resolve_role))

        @app.get("/", include_in_schema=False)
        def home() -> RedirectResponse:
            return RedirectResponse("/ui/")
