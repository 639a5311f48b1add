"""Rule-based models: first touch, last touch, linear, time decay, position based.

Each model is a weight per delivered touch of a converting journey, with weights summing to
one within the journey; credit is ``sum(weight * journey value)`` per key. Weights are
computed for a whole batch at once from each touch's position among the journey's delivered
touches, so the cost is a handful of numpy passes per batch.
"""

from __future__ import annotations

import numpy as np

from ._batch import FloatArray, Keyed
from ._result import Accumulator, Params, labelled

DAY = 86400.0


class Heuristic(Accumulator):
    """Shared machinery: positions within journeys, weight function, credit by key."""

    def __init__(self, by: str) -> None:
        super().__init__(by)
        self._credit_sum: FloatArray = np.zeros(0)

    def _weights(
        self, pos: np.ndarray, n: np.ndarray, age: FloatArray, j: np.ndarray
    ) -> FloatArray:
        raise NotImplementedError

    def _update_keyed(self, k: Keyed) -> None:
        starts = np.cumsum(k.counts) - k.counts
        pos = np.arange(len(k.key), dtype=np.int64) - starts[k.journey]
        keep = k.converted[k.journey]
        j = k.journey[keep]
        w = self._weights(pos[keep], k.counts[j], k.age[keep], j)
        credit = np.bincount(k.key[keep], weights=w * k.value[j], minlength=len(self.vocab))
        if len(credit) > len(self._credit_sum):
            self._credit_sum = np.pad(self._credit_sum, (0, len(credit) - len(self._credit_sum)))
        self._credit_sum[: len(credit)] += credit

    def _credit(self) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        values = np.pad(self._credit_sum, (0, len(self.vocab) - len(self._credit_sum)))
        return labelled(self.vocab.labels, values), {}


class FirstTouch(Heuristic):
    """All value to the first delivered touch: what opened the conversation."""

    model = "first_touch"

    def _weights(
        self, pos: np.ndarray, n: np.ndarray, age: FloatArray, j: np.ndarray
    ) -> FloatArray:
        return np.asarray(pos == 0, dtype=np.float64)


class LastTouch(Heuristic):
    """All value to the last delivered touch: what closed."""

    model = "last_touch"

    def _weights(
        self, pos: np.ndarray, n: np.ndarray, age: FloatArray, j: np.ndarray
    ) -> FloatArray:
        return np.asarray(pos == n - 1, dtype=np.float64)


class Linear(Heuristic):
    """Equal shares: ``1/n`` for each of the ``n`` delivered touches."""

    model = "linear"

    def _weights(
        self, pos: np.ndarray, n: np.ndarray, age: FloatArray, j: np.ndarray
    ) -> FloatArray:
        return np.asarray(1.0 / n, dtype=np.float64)


class TimeDecay(Heuristic):
    """Weight ``2 ** (-age / half_life)``, normalised per journey.

    Ages are taken relative to the journey's last delivered touch before exponentiating, so
    old journeys do not underflow to 0/0 (the normalisation makes the shift harmless).
    """

    model = "time_decay"

    def __init__(self, by: str, half_life_s: float = 7 * DAY) -> None:
        super().__init__(by)
        if half_life_s <= 0:
            raise ValueError("half_life_s must be positive")
        self.half_life_s = half_life_s

    def params(self) -> Params:
        return {"half_life_s": self.half_life_s}

    def _weights(
        self, pos: np.ndarray, n: np.ndarray, age: FloatArray, j: np.ndarray
    ) -> FloatArray:
        is_last = pos == n - 1
        newest = np.zeros(int(j.max()) + 1 if len(j) else 0)
        newest[j[is_last]] = age[is_last]
        raw = np.exp2(-(age - newest[j]) / self.half_life_s)
        return np.asarray(raw / np.bincount(j, weights=raw)[j], dtype=np.float64)


class PositionBased(Heuristic):
    """U-shaped: ``first`` and ``last`` shares to the ends, the rest split over the middle.

    With one touch it gets everything; with two, the ends split in proportion
    ``first : last`` (there is no middle to give the remainder to).
    """

    model = "position"

    def __init__(self, by: str, first: float = 0.4, last: float = 0.4) -> None:
        super().__init__(by)
        if first < 0 or last < 0 or first + last > 1 or first + last == 0:
            raise ValueError("need first, last >= 0 and 0 < first + last <= 1")
        self.first, self.last = first, last

    def params(self) -> Params:
        return {"first": self.first, "last": self.last}

    def _weights(
        self, pos: np.ndarray, n: np.ndarray, age: FloatArray, j: np.ndarray
    ) -> FloatArray:
        ends = self.first + self.last
        middle = (1.0 - ends) / np.maximum(n - 2, 1)
        w = np.where(pos == 0, self.first, np.where(pos == n - 1, self.last, middle))
        w = np.where(n == 2, w / ends, w)
        return np.asarray(np.where(n == 1, 1.0, w), dtype=np.float64)
