"""First-order Markov chain attribution with removal effects.

Each journey is a path ``start → k1 → … → kn → (conversion | null)`` over the keys of its
delivered touches (repeats kept: they are self-loops). Transition counts are the sufficient
statistic, so the state kept across batches is bounded by (number of keys + 3)², however many
journeys stream past. ``finish`` turns counts into an absorbing chain and, for every key,
solves the chain with that key removed (transitions into it redirected to null):

    p      = P(reach conversion from start)            solve (I - Q) x = r
    p_k    = same, with column k of Q and r[k] zeroed
    RE_k   = 1 - p_k / p                               "removal effect"
    credit = attributed value * RE_k / sum(RE)

All the removed chains are solved in one batched ``numpy.linalg.solve`` call.
"""

from __future__ import annotations

import numpy as np

from ._batch import Keyed
from ._result import Accumulator, Params, labelled

_START, _CONV, _NULL = -1, -2, -3
_SHIFT = 3  # so the special states become non-negative codes
_BASE = 1 << 31


class Markov(Accumulator):
    """Removal-effect attribution on a first-order chain (``order`` must be 1)."""

    model = "markov"

    def __init__(self, by: str, order: int = 1) -> None:
        super().__init__(by)
        if order != 1:
            raise ValueError("only first-order Markov chains are implemented (order=1)")
        self.order = order
        self.transitions: dict[tuple[int, int], int] = {}

    def params(self) -> Params:
        return {"order": self.order}

    def _update_keyed(self, k: Keyed) -> None:
        if not len(k.key):
            return
        starts = np.cumsum(k.counts) - k.counts
        first = np.zeros(len(k.key), dtype=np.bool_)
        has = k.counts > 0
        first[starts[has]] = True
        prev = np.empty_like(k.key)
        prev[1:] = k.key[:-1]
        prev[first] = _START
        last_idx = starts[has] + k.counts[has] - 1
        end = np.where(k.converted[has], _CONV, _NULL)
        src = np.concatenate([prev, k.key[last_idx]]) + _SHIFT
        dst = np.concatenate([k.key, end]) + _SHIFT
        codes, counts = np.unique(src * _BASE + dst, return_counts=True)
        for code, count in zip(codes.tolist(), counts.tolist(), strict=True):
            pair = (code // _BASE - _SHIFT, code % _BASE - _SHIFT)
            self.transitions[pair] = self.transitions.get(pair, 0) + count

    def _credit(self) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        labels = self.vocab.labels
        effects = removal_effects(self.transitions, len(labels))
        total = float(effects.sum())
        attributed = self.total_value - self.unattributed
        if total <= 0:
            if attributed > 0:
                self.warnings.append("no key has a removal effect; value left unattributed")
            self.unattributed = self.total_value
            return labelled(labels, np.zeros(len(labels))), {}
        credit = attributed * effects / total
        return labelled(labels, credit), {"removal_effect": labelled(labels, effects)}


def conversion_matrices(
    transitions: dict[tuple[int, int], int], n_keys: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row-normalised transient matrix ``Q`` (state 0 = start, ``i+1`` = key ``i``) and ``r``.

    ``r[s]`` is the probability of moving from transient state ``s`` straight to conversion.
    """
    size = n_keys + 1
    counts = np.zeros((size, size + 2))  # last two columns: conversion, null
    for (src, dst), c in transitions.items():
        row = 0 if src == _START else src + 1
        col = size if dst == _CONV else size + 1 if dst == _NULL else dst + 1
        counts[row, col] += c
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return probs[:, :size], probs[:, size]


def removal_effects(transitions: dict[tuple[int, int], int], n_keys: int) -> np.ndarray:
    """Removal effect of each key (``1 - p_without_k / p``); zeros when nothing converts."""
    if n_keys == 0:
        return np.zeros(0)
    q, r = conversion_matrices(transitions, n_keys)
    size = n_keys + 1
    eye = np.eye(size)
    # Stack the full chain and every chain-with-key-removed, solve them together.
    qs = np.repeat(q[None, :, :], n_keys + 1, axis=0)
    rs = np.repeat(r[None, :], n_keys + 1, axis=0)
    idx = np.arange(n_keys)
    qs[idx + 1, :, idx + 1] = 0.0
    rs[idx + 1, idx + 1] = 0.0
    # A removed state is unreachable; give it an identity row so the system stays regular.
    qs[idx + 1, idx + 1, :] = 0.0
    p = np.linalg.solve(eye[None, :, :] - qs, rs[:, :, None])[:, 0, 0]
    if p[0] <= 0:
        return np.zeros(n_keys)
    return np.asarray(np.clip(1.0 - p[1:] / p[0], 0.0, None), dtype=np.float64)
