"""``accord bench --telemetry``: what telemetry costs, off and on, measured interleaved.

Two comparisons, each alternating its variants in rounds (in ABBA order) so they see the same
machine, with a control (the bare variant again) whose ratio shows the run's noise floor:
pure evaluation bare against evaluation inside the recorder telemetry-off hands out (the whole
cost of "off" per decision), and full embedded decisions with telemetry off, with metrics only,
and fully on (a span per decision and its phases, batched to an exporter that discards them,
plus the metrics).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from accord.telemetry import OFF, Telemetry


def _rounds(variants: Sequence[Callable[[int], object]], n: int,
            rounds: int) -> list[list[float]]:
    from accord.bench import _rate

    per = max(n // rounds, 1)
    rates: list[list[float]] = [[] for _ in variants]
    for r in range(rounds):
        order = list(zip(rates, variants, strict=True))
        for rate, fn in order if r % 2 == 0 else order[::-1]:  # ABBA: no variant always first
            rate.append(_rate(fn, per, r * per))
    return rates


def _ratio(on: list[float], off: list[float]) -> float:
    from accord.bench import median_ratio

    return median_ratio(on, off)[0]


def _recorder_ns(p: Any, n: int = 20_000) -> float:
    """What telemetry-off adds to one decision, in ns: the best of five timings (the least
    disturbed by other load) of the no-op recorder as ``submit`` uses it."""
    import time

    best = float("inf")
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(n):
            with OFF.decision(p) as ph:
                ph.mark("lock")
                ph.mark("snapshot")
                ph.mark("evaluate")
                ph.mark("write")
                ph.done(p)
        best = min(best, (time.perf_counter_ns() - start) / n)
    return round(best, 1)


def _on() -> Telemetry:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from accord.telemetry._metrics import Metrics

    class Discard(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    return Telemetry(tracer=provider.get_tracer("bench"), metrics=Metrics(),
                     customer_key=b"bench")


def bench_telemetry(n: int = 20_000, decisions: int = 2000, rounds: int = 5,
                    customers: int = 500) -> dict[str, Any]:
    from accord import gate
    from accord.bench import T0, bench_policy, decider
    from accord.model import Proposal

    pol = bench_policy()
    snap = gate.Snapshot("c1", gate.cel_fields({"stage": "active", "tier": "gold"}), 1)
    proposals = [Proposal(agent=a, customer="c1", channel="email", intent=i) for a, i in (
        ("upsell", "upsell"), ("email-cadence", "nurture"), ("churn-guard", "retain"),
        ("reengage", "reactivate"))]
    for p in proposals:
        gate.evaluate(p, T0, snap, pol)

    def bare(i: int) -> None:
        gate.evaluate(proposals[i % 4], T0, snap, pol)

    def recorded(i: int) -> None:
        p = proposals[i % 4]
        with OFF.decision(p) as ph:
            gate.evaluate(p, T0, snap, pol)
            ph.mark("evaluate")

    def control(i: int) -> None:  # bare again: the ratio it gets is the noise floor
        gate.evaluate(proposals[i % 4], T0, snap, pol)

    eval_bare, eval_off, eval_control = _rounds([bare, recorded, control], n, rounds * 4)
    off_ns = _recorder_ns(proposals[0])
    with tempfile.TemporaryDirectory() as tmp:
        services, deciders = [], []
        on = _on()
        from accord.telemetry._metrics import Metrics

        metrics_only = Telemetry(metrics=Metrics())
        for name, tel in (("off", OFF), ("metrics", metrics_only), ("on", on),
                          ("control", OFF)):
            one, acc = decider(str(Path(tmp) / f"{name}.db"), customers, telemetry=tel,
                               agents=[(p.agent, p.intent) for p in proposals])
            services.append(acc)
            one(0)
            deciders.append(one)
        try:
            off, metered, traced, again = _rounds(deciders, decisions, rounds * 2)
        finally:
            for acc in services:
                acc.close()
    return {"off_recorder_ns": off_ns,
            "eval_us_bare": round(1e6 / statistics.median(eval_bare), 2),
            "eval_us_telemetry_off": round(1e6 / statistics.median(eval_off), 2),
            "eval_ratio_off": _ratio(eval_off, eval_bare),
            "eval_ratio_control": _ratio(eval_control, eval_bare),
            "decisions_per_s_off": round(statistics.median(off), 1),
            "decisions_per_s_metrics": round(statistics.median(metered), 1),
            "decisions_per_s_on": round(statistics.median(traced), 1),
            "decision_ratio_metrics": _ratio(metered, off),
            "decision_ratio_on": _ratio(traced, off),
            "decision_ratio_control": _ratio(again, off), "rounds": rounds * 2}
