"""What Accord reports about itself: OpenTelemetry spans and Prometheus metrics, both optional.

The service holds one ``Telemetry``. The default, ``OFF``, reports nothing: each decision costs
one call returning a shared no-op recorder, and neither OpenTelemetry nor prometheus-client is
imported (they are the ``accord[otel]`` extra). ``Telemetry(tracer=..., metrics=...)`` turns
either on; ``accord serve`` builds it from ``--otlp-endpoint`` / the standard ``OTEL_*``
variables and serves the metrics at ``/metrics`` (docs/observability.md).

What leaves the process is bounded and impersonal: span attributes and metric labels name the
agent, outcome, rules and channel, never the customer (unless an operator sets a key to export
a keyed hash of it) and never a message, offer or exception text.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from accord.model import Decision, Proposal
    from accord.telemetry._metrics import Metrics

PHASES = ("lock", "snapshot", "evaluate", "write", "commit")
"""The child spans of a decision, in order; each ends where the next begins. ``commit`` is the
transaction's end (commit, or rollback on an error): it closes when the recorder exits."""


class Phases:
    """Records one decision's phases. This base class is the no-op one ``OFF`` hands out."""

    __slots__ = ()

    def __enter__(self) -> Phases:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        return None

    def mark(self, phase: str) -> None:
        """The phase named ``phase`` ended now (the next one starts here)."""

    def done(self, decision: Decision, *, replayed: bool = False) -> None:
        """The decision this call made (or, ``replayed``, returned again for its key); it is
        counted only if the recorder then exits without an error (the commit held)."""


_NOTHING = Phases()


class Telemetry:
    """Where a decision's span and metrics go: a tracer, a metrics set, both or neither.

    ``customer_key``: when given, spans carry ``accord.customer.hmac`` (a keyed SHA-256 of the
    customer id, 16 hex digits) so one customer's decisions can be grouped without exporting
    the id; without it the customer is omitted."""

    def __init__(self, *, tracer: Tracer | None = None, metrics: Metrics | None = None,
                 customer_key: bytes | None = None) -> None:
        self.tracer = tracer
        self.metrics = metrics
        self.customer_key = customer_key
        self.on = tracer is not None or metrics is not None

    def decision(self, p: Proposal) -> Phases:
        """A recorder for deciding ``p`` (``with telemetry.decision(p) as ph: ...``)."""
        if not self.on:
            return _NOTHING
        return _Recorded(self, p)

    def with_metrics(self, metrics: Metrics) -> Telemetry:
        return Telemetry(tracer=self.tracer, metrics=metrics, customer_key=self.customer_key)

    def customer_hash(self, customer: str) -> str | None:
        if self.customer_key is None:
            return None
        return hmac.new(self.customer_key, customer.encode(), hashlib.sha256).hexdigest()[:16]


OFF = Telemetry()
"""Reports nothing; the default of every ``Accord``."""


class _Recorded(Phases):
    __slots__ = ("decision_", "marks", "p", "perf0", "replayed", "t0", "tel")

    def __init__(self, tel: Telemetry, p: Proposal) -> None:
        self.tel = tel
        self.p = p
        self.marks: list[tuple[str, int]] = []
        self.decision_: Decision | None = None
        self.replayed = False

    def __enter__(self) -> Phases:
        self.t0 = time.time_ns()
        self.perf0 = time.perf_counter_ns()
        return self

    def mark(self, phase: str) -> None:
        self.marks.append((phase, time.time_ns()))

    def done(self, decision: Decision, *, replayed: bool = False) -> None:
        self.decision_ = decision
        self.replayed = replayed

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        seconds = (time.perf_counter_ns() - self.perf0) / 1e9
        end = time.time_ns()
        self.marks.append(("commit", end))
        tel = self.tel
        if (tel.metrics is not None and exc is None and self.decision_ is not None
                and not self.replayed):
            tel.metrics.decided(self.decision_, seconds)
        if tel.tracer is not None:
            from accord.telemetry._trace import emit

            emit(tel, self, end, exc)


def from_environment(otlp_endpoint: str | None = None, *,
                     environ: dict[str, str] | None = None) -> Telemetry:
    """Tracing as ``accord serve`` sets it up: on when ``otlp_endpoint`` is given or the
    standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set
    (and ``OTEL_SDK_DISABLED`` is not true); ``ACCORD_OTEL_CUSTOMER_KEY`` adds the keyed
    customer hash. Without the ``accord[otel]`` extra, asking for tracing is an error that
    says what to install."""
    import os

    env = os.environ if environ is None else environ
    key = env.get("ACCORD_OTEL_CUSTOMER_KEY")
    customer_key = key.encode() if key else None
    wanted = otlp_endpoint or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not wanted or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return Telemetry(customer_key=customer_key)
    from accord.telemetry._trace import otlp_tracer

    return Telemetry(tracer=otlp_tracer(otlp_endpoint), customer_key=customer_key)


def __getattr__(name: str) -> Any:
    if name == "Metrics":  # imported on first use: it needs prometheus-client
        from accord.telemetry._metrics import Metrics

        return Metrics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["OFF", "PHASES", "Metrics", "Phases", "Telemetry", "from_environment"]
