"""Prometheus metrics (prometheus-client, the ``accord[otel]`` extra); imported only when on.

Counted as things happen: decisions (by agent, outcome and channel), the rules that matched
(by agent, rule and the rule's effect as ``outcome``), decision latency, HTTP latency and
answers. Read when scraped, at no cost in between: requests in flight, 429s, open streams,
the webhook and delivery queues, the PostgreSQL pool.

Labels are bounded: only agent, outcome, rule and channel, each capped at ``MAX_VALUES``
distinct values per process (the rest count as ``other``), so no caller can grow the series
without bound and no customer id or secret can become a label.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from accord.model import Decision

MAX_VALUES = 200
"""Distinct values a label takes in one process before the rest are counted as ``other``."""

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                   2.5, 5.0, 10.0, 30.0)
"""Seconds; fine below 25 ms, where the p99 bars are, so ``histogram_quantile`` can read it."""


class _Bounded:
    """A label's values: the first ``limit`` seen pass through, later new ones become other."""

    def __init__(self, limit: int = MAX_VALUES) -> None:
        self.limit = limit
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self.seen:
            return value
        with self._lock:
            if len(self.seen) >= self.limit:
                return "other"
            self.seen.add(value)
        return value


class Metrics:
    """One process's metrics, in their own registry (``registry``), which ``/metrics`` serves."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.decisions = Counter("accord_decisions", "Decisions made, by agent, outcome and "
                                 "channel.", ["agent", "outcome", "channel"], registry=r)
        self.rules = Counter("accord_decision_rules", "Rules that matched a decision, by agent, "
                             "rule and the rule's effect (outcome).", ["agent", "rule", "outcome"],
                             registry=r)
        self.latency = Histogram("accord_decision_seconds", "Time to decide one proposal (lock, "
                                 "snapshot, evaluate, write, commit), by outcome.",
                                 ["outcome"], buckets=LATENCY_BUCKETS, registry=r)
        self.http_latency = Histogram("accord_http_request_seconds", "Time to answer one HTTP "
                                      "request (streams excluded), by outcome (the status "
                                      "class: 2xx, 4xx, 429, 5xx).", ["outcome"],
                                      buckets=LATENCY_BUCKETS, registry=r)
        self._agent = _Bounded()
        self._rule = _Bounded()
        self._channel = _Bounded()

    def decided(self, d: Decision, seconds: float) -> None:
        p = d.proposal
        agent = self._agent(p.agent)
        outcome = d.outcome.value
        self.decisions.labels(agent, outcome, self._channel(p.channel)).inc()
        for r in d.reasons:
            self.rules.labels(agent, self._rule(r.rule), r.effect.value).inc()
        self.latency.labels(outcome).observe(seconds)

    def answered(self, status: int, seconds: float) -> None:
        outcome = "429" if status == 429 else f"{status // 100}xx"
        self.http_latency.labels(outcome).observe(seconds)

    def watch(self, read: Callable[[], list[Metric]]) -> None:
        """Add gauges computed when scraped: ``read`` returns metric families."""
        self.registry.register(_Scraped(read))


class _Scraped(Collector):
    def __init__(self, read: Callable[[], list[Metric]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        yield from self.read()


def gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None,
          series: list[tuple[dict[str, str], float]] | None = None) -> Metric:
    """A gauge family with one value, or one per label set in ``series``."""
    if series is None:
        return GaugeMetricFamily(name, doc, value=value)
    names = sorted(series[0][0]) if series else sorted(labels or {})
    g = GaugeMetricFamily(name, doc, labels=names)
    for lab, v in series:
        g.add_metric([lab[n] for n in names], v)
    return g


def counter(name: str, doc: str, value: float) -> Metric:
    return CounterMetricFamily(name, doc, value=value)


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry), CONTENT_TYPE_LATEST


__all__ = ["Metrics", "counter", "exposition", "gauge"]

