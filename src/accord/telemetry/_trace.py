"""Spans, through the OpenTelemetry SDK (the ``accord[otel]`` extra); imported only when on.

A decision is one ``accord.decide`` span (a child of whatever span is current: the HTTP
request's, or the caller's own when Accord is embedded) with one child per phase. The spans are
built when the decision ends, from timestamps taken on the way, so the transaction itself only
appends to a list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accord._errors import AccordError

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from accord.telemetry import Telemetry, _Recorded

_MISSING = ("tracing needs the OpenTelemetry SDK and OTLP exporter: pip install 'accord[otel]'")


def otlp_tracer(endpoint: str | None = None) -> Tracer:
    """A tracer whose spans a background thread batches and posts to an OTLP/HTTP collector.

    ``endpoint`` is the collector's base URL (``http://collector:4318``; ``/v1/traces`` is
    added unless present); ``None`` leaves it to ``OTEL_EXPORTER_OTLP_*``."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise AccordError(_MISSING, where="--otlp-endpoint",
                          hint="or unset OTEL_EXPORTER_OTLP_ENDPOINT") from None
    if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": "accord"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider.get_tracer("accord")


def emit(tel: Telemetry, rec: _Recorded, end: int, exc: BaseException | None) -> None:
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    tracer = tel.tracer
    assert tracer is not None
    p = rec.p
    attrs: dict[str, str | bool | list[str]] = {
        "accord.agent": p.agent, "accord.channel": p.channel, "accord.intent": p.intent,
        "accord.action": p.action}
    hashed = tel.customer_hash(p.customer)
    if hashed is not None:
        attrs["accord.customer.hmac"] = hashed
    d = rec.decision_
    if d is not None:
        attrs.update({
            "accord.outcome": d.outcome.value, "accord.decision_id": d.id,
            "accord.rules": sorted({r.rule for r in d.reasons}),
            "accord.policy_version": d.policy_version, "accord.replayed": rec.replayed})
        if d.proposal.trace_id is not None:
            attrs["accord.trace_id"] = d.proposal.trace_id
        if d.proposal.parent_id is not None:
            attrs["accord.parent_id"] = d.proposal.parent_id
        if d.parent_decision is not None:  # an approval's re-decision of a flagged one
            attrs["accord.parent_decision"] = d.parent_decision
    span = tracer.start_span("accord.decide", kind=SpanKind.INTERNAL, attributes=attrs,
                             start_time=rec.t0)
    if exc is not None:
        # the type only: an exception's text may name the customer
        span.set_attribute("accord.error", type(exc).__name__)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    if not span.is_recording():  # sampled out (OTEL_TRACES_SAMPLER): no phases either
        span.end(end_time=end)
        return
    inside = trace.set_span_in_context(span)
    start = rec.t0
    for phase, at in rec.marks:
        tracer.start_span(f"accord.{phase}", context=inside, start_time=start).end(end_time=at)
        start = at
    span.end(end_time=end)
