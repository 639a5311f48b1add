"""The result every model returns, and the bookkeeping every model shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._batch import JourneyBatch, Keyed, Vocabulary, keyed

Params = dict[str, float | int | str]


@dataclass(frozen=True, slots=True)
class AttributionResult:
    """Credit per key (agent, channel or agent combination) for one model.

    Invariant: ``sum(credit.values()) + unattributed == total_value`` (to rounding), where
    ``total_value`` is the value of all converting journeys and ``unattributed`` the value of
    conversions no delivered touch preceded (or that a model could not assign).
    """

    model: str
    by: str
    credit: dict[str, float]
    total_value: float
    journeys: int
    conversions: int
    unattributed: float = 0.0
    params: Params = field(default_factory=dict)
    details: dict[str, dict[str, float]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def attributed(self) -> float:
        return self.total_value - self.unattributed

    def share(self) -> dict[str, float]:
        """Credit as fractions of the attributed value."""
        total = sum(self.credit.values())
        return {k: (v / total if total else 0.0) for k, v in self.credit.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "attribution",
            "model": self.model,
            "by": self.by,
            "credit": dict(self.credit),
            "share": self.share(),
            "total_value": self.total_value,
            "attributed": self.attributed,
            "unattributed": self.unattributed,
            "journeys": self.journeys,
            "conversions": self.conversions,
            "params": dict(self.params),
            "details": {k: dict(v) for k, v in self.details.items()},
            "warnings": list(self.warnings),
        }


class Accumulator:
    """Counts journeys, conversions and value; subclasses add their model's statistics.

    Models are split into ``update`` (per batch, vectorised, state bounded by the number of
    keys or coalitions, never by the number of journeys) and ``finish``.
    """

    model = "base"
    asked = True
    """False when the caller did not name models: a model that cannot run on this data then
    warns instead of refusing the whole report."""

    def __init__(self, by: str) -> None:
        self.by = by
        self.vocab = Vocabulary()
        self.journeys = 0
        self.conversions = 0
        self.total_value = 0.0
        self.unattributed = 0.0
        self.warnings: list[str] = []

    def update(self, batch: JourneyBatch) -> None:
        self.journeys += batch.n_journeys
        self.conversions += int(batch.converted.sum())
        self.total_value += float(batch.value[batch.converted].sum())
        self._update(batch)

    def _update(self, batch: JourneyBatch) -> None:
        k = keyed(batch, self.by, self.vocab)
        silent = k.converted & (k.counts == 0)
        self.unattributed += float(k.value[silent].sum())
        self._update_keyed(k)

    def _update_keyed(self, k: Keyed) -> None:
        raise NotImplementedError

    def params(self) -> Params:
        return {}

    def finish(self) -> AttributionResult:
        credit, details = self._credit()
        return AttributionResult(
            model=self.model,
            by=self.by,
            credit=credit,
            total_value=self.total_value,
            journeys=self.journeys,
            conversions=self.conversions,
            unattributed=self.unattributed,
            params=self.params(),
            details=details,
            warnings=tuple(self.warnings),
        )

    def _credit(self) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        raise NotImplementedError


def labelled(labels: list[str], values: np.ndarray[Any, np.dtype[np.float64]]) -> dict[str, float]:
    """Pair labels with values, largest first (the order every renderer wants)."""
    pairs = sorted(zip(labels, values.tolist(), strict=False), key=lambda p: (-p[1], p[0]))
    return {label: float(v) for label, v in pairs}
