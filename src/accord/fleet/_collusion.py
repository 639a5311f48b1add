"""A collusion signal: pairs of agents whose behaviour on the same customers moves together
beyond chance. A signal for a person to review, never a verdict.

The statistic (docs/governance.md): for agents A and B, x_A[c] is A's number of proposals to
customer c over every customer any agent proposed for (activity), or A's mean discount to c
over the customers both made offers to (offer values). The observed statistic is Pearson's
r(x_A, x_B). The null hypothesis is that A's and B's choices of customers are independent;
under it, shuffling B's values across customers leaves r's distribution unchanged, so the
one-sided permutation p-value is (1 + #{r_perm >= r}) / (1 + N) with N = 200 shuffles (seeded:
the audit is reproducible). A pair is flagged when p < 0.01, r > 0 and both acted on at least
``min_support`` shared customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

PERMUTATIONS = 200
ALPHA = 0.01
MIN_SUPPORT = 5


def _pearson_rows(x: np.ndarray[Any, Any], ys: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """r between ``x`` and each row of ``ys`` (0 where a vector is constant)."""
    xc = x - x.mean()
    yc = ys - ys.mean(axis=1, keepdims=True)
    den = np.sqrt((xc**2).sum()) * np.sqrt((yc**2).sum(axis=1))
    num = (yc * xc).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    return np.asarray(r)


def co_movement(values: Mapping[str, Mapping[str, float]], *, what: str,
                population: list[str] | None = None, permutations: int = PERMUTATIONS,
                alpha: float = ALPHA,
                min_support: int = MIN_SUPPORT, seed: int = 7) -> list[dict[str, Any]]:
    """``values``: agent → customer → value (missing is 0 over ``population``; without a
    population only the customers both have values for count). One row per agent pair with a
    shared customer: r, p, support (shared customers) and whether it is flagged."""
    agents = sorted(a for a, v in values.items() if v)
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for i, a in enumerate(agents):
        for b in agents[i + 1:]:
            va, vb = values[a], values[b]
            shared = set(va) & set(vb)
            if not shared:
                continue
            customers = sorted(population) if population is not None else sorted(shared)
            if len(customers) < 3:
                continue
            x = np.array([float(va.get(c, 0.0)) for c in customers])
            y = np.array([float(vb.get(c, 0.0)) for c in customers])
            r = float(_pearson_rows(x, y[None, :])[0])
            perms = np.stack([rng.permutation(y) for _ in range(permutations)])
            null = _pearson_rows(x, perms)
            p = float((1 + int((null >= r - 1e-12).sum())) / (1 + permutations))
            out.append({"agents": [a, b], "what": what, "r": round(r, 4), "p": round(p, 4),
                        "support": len(shared), "customers": len(customers),
                        "flagged": bool(p < alpha and len(shared) >= min_support and r > 0)})
    out.sort(key=lambda row: (not row["flagged"], float(row["p"]), -float(row["r"])))
    return out
