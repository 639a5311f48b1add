"""Shapley-value attribution over coalition conversion rates, and credit by agent combination.

The game: players are keys (agents or channels); a journey's *coalition* is the set of keys
of its delivered touches. ``r(T)`` is the conversion rate of journeys whose coalition is
exactly ``T`` (``r(∅)`` the rate of journeys nothing was delivered in, 0 if there are none).
The worth of a coalition is the best rate any observed sub-coalition achieved:

    v(S) = max { r(T) : T ⊆ S, T observed }

— "free disposal": a fleet can always leave an agent silent, so adding one cannot make the
coalition worth less. This fills in coalitions never observed and makes ``v`` monotone, so
every Shapley value is ≥ 0. Values are in conversion-rate points; credit rescales them to the
attributed value: ``credit_i = attributed * phi_i / sum(phi)`` (``sum(phi) = v(N) - v(∅)`` by
efficiency).

Up to ``exact_max_players`` (12) players the values are exact, from the full table of 2^n
worths; beyond, from ``samples`` random permutations, with the standard error of each value
(``std / sqrt(samples)`` of the marginal contributions) reported in ``details``.
"""

from __future__ import annotations

from collections.abc import Callable
from math import factorial

import numpy as np

from accord._errors import InvalidInput

from ._batch import IntArray, JourneyBatch
from ._result import Accumulator, Params, labelled

MAX_PLAYERS = 62  # coalitions are int64 bit masks
Worth = Callable[[IntArray], np.ndarray]


def coalitions(batch: JourneyBatch, by: str) -> tuple[list[frozenset[str]], IntArray]:
    """The distinct coalitions of a batch and, per journey, the index of its coalition."""
    channel = by == "channel"
    local, labels = (batch.channel, batch.channels) if channel else (batch.agent, batch.agents)
    if len(labels) > MAX_PLAYERS:  # beyond int64 masks: the same sets, built one by one
        members: list[set[str]] = [set() for _ in range(batch.n_journeys)]
        d = batch.delivered
        for j, k in zip(batch.journey_of_touch[d].tolist(), local[d].tolist(), strict=True):
            members[j].add(labels[k])
        index: dict[frozenset[str], int] = {}
        found = [index.setdefault(frozenset(m), len(index)) for m in members]
        return list(index), np.asarray(found, dtype=np.int64).reshape(-1)
    masks = np.zeros(batch.n_journeys, dtype=np.int64)
    d = batch.delivered
    np.bitwise_or.at(masks, batch.journey_of_touch[d], np.left_shift(1, local[d]))
    unique, inverse = np.unique(masks, return_inverse=True)
    sets = [frozenset(labels[i] for i in range(len(labels)) if m >> i & 1) for m in unique.tolist()]
    return sets, inverse.astype(np.int64).reshape(-1)


class CoalitionCounts(Accumulator):
    """Journeys, conversions and value per coalition — bounded by the distinct coalitions."""

    def __init__(self, by: str) -> None:
        super().__init__(by)
        self.table: dict[frozenset[str], list[float]] = {}

    def _update(self, batch: JourneyBatch) -> None:
        sets, inverse = coalitions(batch, self.by)
        n = np.bincount(inverse, minlength=len(sets))
        conv = np.bincount(inverse, weights=batch.converted, minlength=len(sets))
        value = np.bincount(inverse, weights=batch.value * batch.converted, minlength=len(sets))
        for s, row in zip(sets, np.stack([n, conv, value], axis=1).tolist(), strict=True):
            acc = self.table.setdefault(s, [0.0, 0.0, 0.0])
            for i in range(3):
                acc[i] += row[i]
        self.unattributed = float(sum(row[2] for s, row in self.table.items() if not s))


class Combination(CoalitionCounts):
    """Credit by agent combination: a journey's whole value goes to its set of agents."""

    model = "combination"

    def _credit(self) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        rows = [("+".join(sorted(s)), r) for s, r in self.table.items() if s]
        labels = [label for label, _ in rows]
        n, conv, value = np.asarray([r for _, r in rows], dtype=np.float64).reshape(-1, 3).T
        rate = np.divide(conv, n, out=np.zeros(len(rows)), where=n > 0)
        details = {
            "journeys": labelled(labels, n),
            "conversions": labelled(labels, conv),
            "conversion_rate": labelled(labels, rate),
        }
        return labelled(labels, value), details


class Shapley(CoalitionCounts):
    """Shapley values of the coalition-rate game described in the module docstring."""

    model = "shapley"

    def __init__(
        self, by: str, exact_max_players: int = 12, samples: int = 2000, seed: int = 0
    ) -> None:
        super().__init__(by)
        self.exact_max_players, self.samples, self.seed = exact_max_players, samples, seed

    def params(self) -> Params:
        return {"exact_max_players": self.exact_max_players, "samples": self.samples}

    def _credit(self) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        players = sorted({p for s in self.table for p in s})
        if len(players) > MAX_PLAYERS and not self.asked:
            self.warnings.append(f"{len(players)} {self.by}s: Shapley values need at most "
                                 f"{MAX_PLAYERS}; value left unattributed by this model")
            self.unattributed = self.total_value
            return labelled(players, np.zeros(len(players))), {}
        if len(players) > MAX_PLAYERS:
            raise InvalidInput(f"Shapley values need at most {MAX_PLAYERS} {self.by}s; the "
                               f"journeys in this window have {len(players)}", where="model",
                               hint="leave out model=shapley, attribute by channel, or shorten "
                                    "the lookback")
        index = {p: i for i, p in enumerate(players)}
        masks = np.asarray([sum(1 << index[p] for p in s) for s in self.table], dtype=np.int64)
        n, conv = (np.asarray([r[i] for r in self.table.values()]) for i in (0, 1))
        rates = np.divide(conv, n, out=np.zeros(len(n)), where=n > 0)
        worth = closure_worth(masks, rates)
        if len(players) <= self.exact_max_players:
            phi, se = exact_shapley(worth_table(worth, len(players))), None
        else:
            phi, se = sampled_shapley(worth, len(players), self.samples, self.seed)
            self.warnings.append(
                f"{len(players)} players: Shapley values estimated from {self.samples} "
                "permutations; see details['standard_error']"
            )
        total = float(phi.sum())
        attributed = self.total_value - self.unattributed
        if total <= 0:
            self.warnings.append("no coalition beats the no-touch rate; value left unattributed")
            self.unattributed = self.total_value
            return labelled(players, np.zeros(len(players))), {"phi": labelled(players, phi)}
        details = {"phi": labelled(players, phi)}
        if se is not None:
            details["standard_error"] = labelled(players, se * attributed / total)
        return labelled(players, attributed * phi / total), details


def closure_worth(masks: IntArray, rates: np.ndarray) -> Worth:
    """``v(S) = max r(T) over observed T ⊆ S`` (``∅`` defaults to rate 0), vectorised."""
    empty = masks == 0
    base = float(rates[empty].max()) if empty.any() else 0.0
    obs_masks, obs_rates = masks[~empty], rates[~empty]

    def worth(query: IntArray) -> np.ndarray:
        out = np.full(query.shape, base)
        flat_q, flat_out = query.reshape(-1), out.reshape(-1)
        step = max(1, 4_000_000 // max(1, len(obs_masks)))
        for lo in range(0, len(flat_q), step):
            q = flat_q[lo : lo + step]
            inside = (obs_masks[None, :] & ~q[:, None]) == 0
            best = np.where(inside, obs_rates[None, :], base).max(axis=1, initial=base)
            flat_out[lo : lo + step] = best
        return out

    return worth


def worth_table(worth: Worth, n: int) -> np.ndarray:
    return worth(np.arange(1 << n, dtype=np.int64))


def exact_shapley(table: np.ndarray) -> np.ndarray:
    """Exact Shapley values from the worth of every coalition (``table[mask]``)."""
    n = len(table).bit_length() - 1
    if len(table) != 1 << n:
        raise ValueError("the worth table must have 2**n entries")
    masks = np.arange(1 << n, dtype=np.int64)
    size = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        size += (masks >> i) & 1
    weight = np.asarray([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    phi = np.zeros(n)
    for i in range(n):
        without = masks[(masks >> i) & 1 == 0]
        phi[i] = float(np.sum(weight[size[without]] * (table[without | 1 << i] - table[without])))
    return phi


def sampled_shapley(worth: Worth, n: int, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo Shapley values (random permutations) and their standard errors."""
    if samples < 2:
        raise ValueError("need at least 2 permutation samples")
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(n, dtype=np.int64), (samples, 1)), axis=1)
    bits = np.left_shift(np.int64(1), perms)
    after = np.cumsum(bits, axis=1)
    gain = worth(after) - worth(after - bits)
    contrib = np.empty_like(gain)
    np.put_along_axis(contrib, perms, gain, axis=1)
    return contrib.mean(axis=0), contrib.std(axis=0, ddof=1) / np.sqrt(samples)
