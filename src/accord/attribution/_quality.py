"""Coordination quality: do collisions and contradictions cost conversions and goodwill?

A journey has a *collision* when two different agents delivered touches within
``collision_window_s`` (72 h) of each other, and a *contradiction* when two delivered touches
carried different intents of the same conflict group (default: retain / upsell / reactivate)
within ``contradiction_window_s`` (7 days). Only delivered touches count — a touch the gate
stopped never reached the customer, which is the point of the gate.

For each group the rates of conversion, unsubscribe (``unsubscribe``/``opt_out``) and
complaint are the fraction of journeys with at least one such outcome, with a Wilson score
95% interval: it stays inside [0, 1] and behaves at small counts and rates near 0, where
the normal approximation claims impossible precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._journey import COMPLAINT_TYPES, DAY, UNSUBSCRIBE_TYPES, Journey, Progress, TouchRecord

Z95 = 1.959963984540054
DEFAULT_CONFLICTS: tuple[frozenset[str], ...] = (frozenset({"retain", "upsell", "reactivate"}),)
GROUPS = ("all", "collision", "no collision", "contradiction", "no contradiction", "clean")
METRICS = ("conversion", "unsubscribe", "complaint")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when ``n`` is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` of ``n`` journeys, the rate and its 95% Wilson interval."""

    count: int
    n: int
    rate: float
    low: float
    high: float

    @classmethod
    def of(cls, count: int, n: int) -> Rate:
        low, high = wilson_interval(count, n)
        return cls(count, n, count / n if n else 0.0, low, high)


@dataclass(frozen=True, slots=True)
class QualityRow:
    group: str
    journeys: int
    rates: dict[str, Rate]


@dataclass(frozen=True, slots=True)
class QualityReport:
    """One row per group (``all``, ``collision``, ``no collision`` … ``clean``)."""

    rows: tuple[QualityRow, ...]
    collision_window_s: float
    contradiction_window_s: float

    def row(self, group: str) -> QualityRow:
        return next(r for r in self.rows if r.group == group)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "coordination_quality",
            "collision_window_s": self.collision_window_s,
            "contradiction_window_s": self.contradiction_window_s,
            "rows": [
                {
                    "group": r.group,
                    "journeys": r.journeys,
                    **{
                        m: {"count": x.count, "rate": x.rate, "low": x.low, "high": x.high}
                        for m, x in r.rates.items()
                    },
                }
                for r in self.rows
            ],
        }


def has_collision(touches: Iterable[TouchRecord], window_s: float) -> bool:
    """Two different agents delivered within ``window_s`` of each other."""
    last_by_agent: dict[str, float] = {}
    for t in sorted((t for t in touches if t.delivered), key=lambda t: t.at):
        if any(a != t.agent and t.at - at <= window_s for a, at in last_by_agent.items()):
            return True
        last_by_agent[t.agent] = t.at
    return False


def has_contradiction(
    touches: Iterable[TouchRecord], window_s: float, conflicts: Iterable[frozenset[str]]
) -> bool:
    """Two different intents of one conflict group delivered within ``window_s``."""
    groups = list(conflicts)
    last_by_intent: dict[str, float] = {}
    for t in sorted((t for t in touches if t.delivered and t.intent), key=lambda t: t.at):
        assert t.intent is not None
        for intent, at in last_by_intent.items():
            clash = any(intent in g and t.intent in g for g in groups)
            if intent != t.intent and clash and t.at - at <= window_s:
                return True
        last_by_intent[t.intent] = t.at
    return False


def coordination_quality(
    journeys: Iterable[Journey],
    collision_window_s: float = 72 * 3600.0,
    contradiction_window_s: float = 7 * DAY,
    conflicting_intents: Iterable[Iterable[str]] = DEFAULT_CONFLICTS,
    progress: Progress | None = None,
) -> QualityReport:
    """Compare outcome rates of journeys with and without collisions / contradictions.

    Streams: only counters are kept, so any number of journeys fits in memory.
    """
    conflicts = tuple(frozenset(g) for g in conflicting_intents)
    counts = {g: [0, 0, 0, 0] for g in GROUPS}  # journeys, conversions, unsubscribes, complaints
    for i, journey in enumerate(journeys, 1):
        collision = has_collision(journey.touches, collision_window_s)
        contradiction = has_contradiction(journey.touches, contradiction_window_s, conflicts)
        outcome = (
            1,
            int(journey.converted),
            int(journey.has_event(UNSUBSCRIBE_TYPES)),
            int(journey.has_event(COMPLAINT_TYPES)),
        )
        groups = [
            "all",
            "collision" if collision else "no collision",
            "contradiction" if contradiction else "no contradiction",
        ]
        if not (collision or contradiction):
            groups.append("clean")
        for g in groups:
            c = counts[g]
            for k in range(4):
                c[k] += outcome[k]
        if progress is not None and i % 10_000 == 0:
            progress(i)
    rows = tuple(
        QualityRow(
            group=g,
            journeys=c[0],
            rates={m: Rate.of(c[k + 1], c[0]) for k, m in enumerate(METRICS)},
        )
        for g, c in counts.items()
    )
    return QualityReport(rows, collision_window_s, contradiction_window_s)
