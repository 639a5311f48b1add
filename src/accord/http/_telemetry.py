"""The server's side of telemetry: a span per HTTP request that continues the caller's W3C
``traceparent``, request latency, and ``/metrics`` for Prometheus (docs/observability.md).

``/metrics`` needs a bearer token: the ``--metrics-token`` the operator set for the scraper, or
any admin token. It is never open by default, not even on loopback: a reverse proxy on the same
host makes every public request look local.
"""

from __future__ import annotations

import hmac
import time
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord._errors import AccordError, Forbidden, Unauthorized
from accord.service import Accord
from accord.telemetry import Telemetry

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from accord.http._overload import InFlight
    from accord.http.webhooks import Dispatcher

UNTIMED = ("/v1/stream", "/ui/stream", "/metrics", "/healthz")
"""Paths without a request span or latency sample: streams last as long as their reader."""


def metrics_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("prometheus_client") is not None


def enable_metrics(service: Accord) -> None:
    """Give ``service`` a metrics set unless it has one (``/metrics`` serves its registry)."""
    if service.telemetry.metrics is None:
        from accord.telemetry._metrics import Metrics

        service.telemetry = service.telemetry.with_metrics(Metrics())


class RequestTelemetry:
    """ASGI middleware: a server span per request (a child of the caller's ``traceparent``,
    named by route template, never by the raw path, which may hold a customer id) and the
    request's latency. Installed only when tracing or metrics are on."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNTIMED):
            await self.app(scope, receive, send)
            return
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        tracer, metrics = self.telemetry.tracer, self.telemetry.metrics
        started = time.perf_counter()
        if tracer is None:
            try:
                await self.app(scope, receive, sending)
            finally:
                if metrics is not None:
                    metrics.answered(status[0], time.perf_counter() - started)
            return
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                   if k in (b"traceparent", b"tracestate")}
        parent = TraceContextTextMapPropagator().extract(headers)
        method = scope["method"]
        span = tracer.start_span(method, context=parent, kind=SpanKind.SERVER,
                                 attributes={"http.request.method": method})
        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, sending)
        finally:
            context.detach(token)
            route = getattr(scope.get("route"), "path", None)
            if route:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status[0])
            if status[0] >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
            if metrics is not None:
                metrics.answered(status[0], time.perf_counter() - started)


def install(app: FastAPI, service: Accord, *, metrics_token: str | None) -> None:
    """``/metrics`` over the service's metrics, and the request middleware when needed."""
    state: Any = app.state
    tel = service.telemetry
    if metrics_token and tel.metrics is None:
        raise AccordError("a metrics token was given but /metrics is off", where="--metrics-token",
                          hint="install prometheus-client (pip install 'accord[otel]'), or drop "
                               "the token")
    if tel.metrics is not None:
        registry = tel.metrics.registry
        tel.metrics.watch(lambda: _scraped(service, state.in_flight, state.webhooks))

        @app.get("/metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            await _authorize(request, metrics_token)
            from accord.telemetry._metrics import exposition

            body, content_type = await run_in_threadpool(exposition, registry)
            return Response(body, media_type=content_type)

    if tel.on:
        app.add_middleware(RequestTelemetry, telemetry=tel)


async def _authorize(request: Request, metrics_token: str | None) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    hint = ("send `Authorization: Bearer <token>` with the server's --metrics-token or an admin "
            "token (Prometheus: authorization.credentials_file)")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("/metrics needs a bearer token", where="Authorization", hint=hint)
    if metrics_token and hmac.compare_digest(token.encode(), metrics_token.encode()):
        return
    tokens = request.app.state.tokens
    principal = await run_in_threadpool(tokens.resolve, token)
    if principal is None:
        raise Unauthorized("the bearer token is not the metrics token nor a known token",
                           where="Authorization", hint=hint)
    if principal.role != "admin":
        raise Forbidden(f"a {principal.role} token may not read /metrics",
                        where="Authorization", hint=hint)


def _scraped(service: Accord, in_flight: InFlight, webhooks: Dispatcher) -> list[Metric]:
    """What is read when Prometheus scrapes: gauges of queues and the pool, and 429s."""
    from accord.store import _outbox
    from accord.telemetry._metrics import counter, gauge

    found = [
        gauge("accord_http_in_flight", "HTTP requests being served now (streams excluded).",
              in_flight.current),
        gauge("accord_http_in_flight_limit", "Requests in flight beyond which the answer is "
              "429 (--max-in-flight).", in_flight.limit),
        counter("accord_http_overloaded", "Requests answered 429 (Overloaded) because "
                "--max-in-flight requests were in flight.", in_flight.refused),
        gauge("accord_streams_open", "Open live streams (SSE, dashboard) held by principals.",
              service.bus.streams),
    ]
    try:
        pending = webhooks.pending()
        with service.store.read() as tx:
            live = _outbox.depth(tx)
    except Exception:  # a store that is down still lets the scrape report the rest
        found.append(gauge("accord_store_up", "1 if the store answered this scrape.", 0))
    else:
        found.append(gauge("accord_store_up", "1 if the store answered this scrape.", 1))
        found.append(gauge("accord_webhook_deliveries_pending", "Webhook deliveries waiting "
                           "to be sent (due or backing off).", pending))
        for status in ("queued", "sending"):
            found.append(gauge(f"accord_outbox_{status}", f"Outbox deliveries {status}, by "
                               "channel.", 0, labels={"channel": ""}, series=[
                                   ({"channel": str(r["channel"])}, float(r["n"]))
                                   for r in live if r["status"] == status]))
    stats = getattr(service.store, "pool_stats", None)
    if stats is not None:
        s = stats()
        found += [
            gauge("accord_store_pool_size", "PostgreSQL connections open in the pool.",
                  s.get("pool_size", 0)),
            gauge("accord_store_pool_max", "The pool's maximum size (--pool-size).",
                  s.get("pool_max", 0)),
            gauge("accord_store_pool_available", "Idle connections in the pool.",
                  s.get("pool_available", 0)),
            gauge("accord_store_pool_waiting", "Callers waiting for a connection now.",
                  s.get("requests_waiting", 0)),
            counter("accord_store_pool_requests", "Connections asked of the pool.",
                    s.get("requests_num", 0)),
            counter("accord_store_pool_waits", "Requests that had to wait for a connection.",
                    s.get("requests_queued", 0)),
            counter("accord_store_pool_wait_seconds", "Time spent waiting for a connection.",
                    s.get("requests_wait_ms", 0) / 1000),
        ]
    return found
