"""Intervals for the lift report: 95 % by default, closed forms only (numpy, no scipy).

* a proportion (share of customers who converted, unsubscribed, complained): the Wilson score
  interval — it stays inside [0, 1] and keeps its coverage at small counts and near 0, where
  the textbook Wald interval fails (Brown, Cai & DasGupta 2001);
* a difference of two proportions: Newcombe's hybrid score interval (Newcombe 1998, method
  10), built from the two Wilson intervals;
* a mean per customer (revenue, contacts) and a difference of two means: the normal
  approximation with Welch's unpooled standard error, ``sqrt(s1²/n1 + s2²/n2)``. The report
  refuses groups smaller than ``MIN_PER_GROUP``, where the normal quantile and Student's t
  (at Welch's degrees of freedom) differ by under 5 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

Z95 = 1.959963984540054
"""The standard normal's 97.5 % quantile."""


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """Wilson score interval for ``successes`` out of ``n``."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # the score interval always holds p; clamping keeps rounding from losing 0/n and n/n
    return Interval(p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval:
    """Newcombe's hybrid score interval for ``x1/n1 - x2/n2``."""
    a, b = wilson(x1, n1, z), wilson(x2, n2, z)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, low, high)


@dataclass(slots=True)
class Moments:
    """Count, mean and sum of squared deviations of a stream of values, merged a batch at a
    time (Chan, Golub & LeVeque's parallel update): no second pass, no large sums squared."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: ArrayLike) -> None:
        x = np.asarray(values, dtype=float)
        if x.size == 0:
            return
        n_b, mean_b = x.size, float(x.mean())
        m2_b = float(((x - mean_b) ** 2).sum())
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n

    @property
    def variance(self) -> float:
        """The sample variance (n − 1 in the denominator)."""
        return self.m2 / (self.n - 1)


def mean_of(m: Moments, z: float = Z95) -> Interval:
    """Normal-approximation interval for the mean the moments ``m`` describe."""
    if m.n < 2:
        raise ValueError("a mean's interval needs at least two values")
    half = z * math.sqrt(m.variance / m.n)
    return Interval(m.mean, m.mean - half, m.mean + half)


def welch_of(a: Moments, b: Moments, z: float = Z95) -> Interval:
    """Interval for ``a.mean - b.mean`` with Welch's unpooled standard error."""
    if a.n < 2 or b.n < 2:
        raise ValueError("a difference of means needs at least two values in each group")
    d = a.mean - b.mean
    se = math.sqrt(a.variance / a.n + b.variance / b.n)
    return Interval(d, d - z * se, d + z * se)


def _moments(values: ArrayLike) -> Moments:
    m = Moments()
    m.add(values)
    return m


def mean(values: ArrayLike, z: float = Z95) -> Interval:
    """Normal-approximation interval for the mean of ``values`` (sample standard deviation)."""
    return mean_of(_moments(values), z)


def welch(first: ArrayLike, second: ArrayLike, z: float = Z95) -> Interval:
    """Interval for ``mean(first) - mean(second)`` with Welch's unpooled standard error."""
    return welch_of(_moments(first), _moments(second), z)
