"""The concave response model behind budget advice, and allocation by equal marginal returns.

Per key (agent or channel) we assume per-period revenue ``R = a * s**b`` with ``0 < b < 1``:
returns diminish, so the last unit of budget earns less than the first. ``log R = log a +
b log s`` is fitted by least squares over the periods with both spend and attributed revenue
(periods with spend but no revenue cannot be logged and are counted in a warning), ``a`` is
corrected for the log retransformation bias with Duan's smearing factor, and the uncertainty
comes from a nonparametric bootstrap over periods (all draws vectorised).

Allocation: maximise ``sum a_i s_i**b_i`` subject to ``sum s_i = B``. The optimum equalises
marginal returns ``a_i b_i s_i**(b_i-1) = λ``, i.e. ``s_i(λ) = (a_i b_i / λ)**(1/(1-b_i))``;
``sum s_i(λ)`` falls monotonically in λ, so λ is found by bisection on ``log λ`` — for the
point estimate and every bootstrap draw at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._batch import FloatArray

B_CLIP = (0.01, 0.99)


@dataclass(frozen=True, slots=True)
class ResponseFit:
    """``revenue = a * spend**b`` for one key, with bootstrap draws and a verdict."""

    key: str
    a: float
    b: float
    b_low: float
    b_high: float
    periods: int
    r2: float
    confidence: str  # "high" | "medium" | "low" | "insufficient"
    warnings: tuple[str, ...] = ()
    boot_a: FloatArray = field(default_factory=lambda: np.zeros(0), repr=False)
    boot_b: FloatArray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def identifiable(self) -> bool:
        return self.confidence != "insufficient"

    def marginal(self, spend: float | FloatArray) -> Any:
        """``dR/ds`` at ``spend``."""
        return self.a * self.b * np.power(spend, self.b - 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "b_interval": [self.b_low, self.b_high],
            "periods": self.periods,
            "r2": self.r2,
            "confidence": self.confidence,
            "warnings": list(self.warnings),
        }


def _insufficient(key: str, periods: int, reason: str) -> ResponseFit:
    nan = float("nan")
    return ResponseFit(key, nan, nan, nan, nan, periods, nan, "insufficient", (reason,))


def _slopes(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Least-squares slope and intercept along the last axis (rows are separate fits)."""
    xm, ym = x.mean(axis=-1, keepdims=True), y.mean(axis=-1, keepdims=True)
    sxx = ((x - xm) ** 2).sum(axis=-1)
    sxy = ((x - xm) * (y - ym)).sum(axis=-1)
    slope = np.divide(sxy, sxx, out=np.full(sxx.shape, np.nan), where=sxx > 1e-12)
    return slope, ym[..., 0] - slope * xm[..., 0]


def fit_response(
    key: str,
    spend: FloatArray,
    revenue: FloatArray,
    n_boot: int = 1000,
    seed: int = 0,
    min_periods: int = 6,
) -> ResponseFit:
    """Fit ``R = a s**b`` on per-period spend and revenue; say when the data cannot tell."""
    spend, revenue = np.asarray(spend, np.float64), np.asarray(revenue, np.float64)
    usable = (spend > 0) & (revenue > 0)
    notes: list[str] = []
    lost = int(((spend > 0) & (revenue <= 0)).sum())
    if lost:
        notes.append(f"{lost} period(s) with spend but no attributed revenue left out of the fit")
    n = int(usable.sum())
    if n < max(3, min_periods):
        return _insufficient(key, n, f"only {n} usable period(s); need {max(3, min_periods)}")
    x, y = np.log(spend[usable]), np.log(revenue[usable])
    if float(x.std()) < 0.05:
        return _insufficient(key, n, "spend barely varied between periods; b is not identifiable")
    slope, intercept = _slopes(x, y)
    b, log_a = float(slope), float(intercept)
    resid = y - (log_a + b * x)
    a = float(np.exp(log_a) * np.exp(resid).mean())  # Duan smearing
    r2 = float(1 - (resid**2).sum() / ((y - y.mean()) ** 2).sum()) if y.std() > 0 else 1.0
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    bs, ints = _slopes(x[idx], y[idx])
    ok = np.isfinite(bs)
    bs, ints = np.where(ok, bs, b), np.where(ok, ints, log_a)
    boot_resid = y[idx] - (ints[:, None] + bs[:, None] * x[idx])
    boot_a = np.exp(ints) * np.exp(boot_resid).mean(axis=1)
    b_low, b_high = (float(v) for v in np.percentile(bs, [2.5, 97.5]))
    if not 0 < b < 1:
        notes.append(f"fitted b = {b:.2f} is outside (0, 1): no diminishing returns identified")
        confidence = "insufficient"
    elif b_low <= 0 or b_high >= 1:
        notes.append(f"95% interval of b [{b_low:.2f}, {b_high:.2f}] leaves (0, 1)")
        confidence = "low"
    else:
        confidence = "high" if n >= 2 * min_periods else "medium"
    return ResponseFit(
        key, a, b, b_low, b_high, n, r2, confidence, tuple(notes), boot_a, bs.astype(np.float64)
    )


def allocate(a: FloatArray, b: FloatArray, budget: FloatArray | float) -> FloatArray:
    """Spend per key maximising ``sum a s**b`` under ``sum s = budget``; rows solve separately.

    ``a`` and ``b`` have shape ``(..., keys)`` and ``b`` must lie in (0, 1).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    budget_arr = np.broadcast_to(np.asarray(budget, np.float64), a.shape[:-1])
    log_ab, inv = np.log(a * b), 1.0 / (1.0 - b)
    log_budget = np.log(np.maximum(budget_arr, 1e-300))
    lo = np.full(a.shape[:-1], -200.0)
    hi = np.full(a.shape[:-1], 200.0)

    def total(log_lambda: FloatArray) -> FloatArray:
        expo = np.clip((log_ab - log_lambda[..., None]) * inv, -700.0, 700.0)
        return np.asarray(np.exp(expo).sum(axis=-1))

    for _ in range(200):
        mid = (lo + hi) / 2
        too_much = np.log(np.maximum(total(mid), 1e-300)) > log_budget
        lo = np.where(too_much, mid, lo)
        hi = np.where(too_much, hi, mid)
    expo = np.clip((log_ab - ((lo + hi) / 2)[..., None]) * inv, -700.0, 700.0)
    spend = np.exp(expo)
    return np.asarray(spend * (budget_arr / spend.sum(axis=-1))[..., None])


def predicted(a: FloatArray, b: FloatArray, spend: FloatArray) -> FloatArray:
    """``sum a s**b`` along the last axis."""
    return np.asarray((a * np.power(spend, b)).sum(axis=-1))
