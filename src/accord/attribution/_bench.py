"""Throughput and memory benchmark on a deterministic synthetic history.

The history is generated chunk by chunk straight into :class:`JourneyBatch` columns (each
chunk from its own spawned seed, so results do not depend on the chunk size's effect on the
random stream being the same), fed to every model, and only the model's time is counted. A
second, traced pass measures peak Python/numpy memory with ``tracemalloc``; it should depend on
``chunk_size``, not ``n_journeys``. The object path (``TouchRecord`` → ``build_journeys`` →
encoding) is measured separately on a small sample, because it is bounded by Python object
handling, not by the models.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._attribute import MODELS, attribute, make_accumulator
from ._batch import JourneyBatch
from ._journey import DAY, Conversion, TouchRecord, build_journeys

AGENTS = ("churn", "upsell", "reengage", "winback", "cadence", "onboarding", "loyalty", "survey")
CHANNELS = ("email", "sms", "push", "call")
_AGENT_P = np.asarray([0.3, 0.2, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03])
_AGENT_EFFECT = np.asarray([0.6, 0.4, 0.3, 0.5, 0.1, 0.2, 0.3, -0.2])
_CHANNEL_P = np.asarray([0.5, 0.25, 0.2, 0.05])


def synthetic_batch(seed: np.random.SeedSequence, n: int) -> JourneyBatch:
    """``n`` journeys: 1–8 touches, 90% delivered, conversion odds rising with the agents."""
    rng = np.random.default_rng(seed)
    lengths = np.minimum(1 + rng.poisson(1.5, n), 8)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    journey = np.repeat(np.arange(n), lengths)
    t = int(offsets[-1])
    agent = rng.choice(len(AGENTS), t, p=_AGENT_P).astype(np.int64)
    delivered = rng.random(t) < 0.9
    age = rng.uniform(0, 30 * DAY, t)
    age = age[np.lexsort((-age, journey))]  # oldest first within each journey
    lift = np.bincount(journey, weights=_AGENT_EFFECT[agent] * delivered, minlength=n)
    converted = rng.random(n) < 1 / (1 + np.exp(3.2 - lift))
    return JourneyBatch(
        offsets=offsets,
        agent=agent,
        channel=rng.choice(len(CHANNELS), t, p=_CHANNEL_P).astype(np.int64),
        age=age,
        delivered=delivered,
        converted=converted,
        value=np.where(converted, rng.lognormal(4.0, 0.5, n), 0.0),
        agents=AGENTS,
        channels=CHANNELS,
    )


def synthetic_history(
    n_journeys: int, seed: int = 0, chunk_size: int = 100_000
) -> Iterator[JourneyBatch]:
    """The synthetic history as a stream of batches (never all in memory)."""
    chunks = -(-n_journeys // chunk_size)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(chunks)):
        yield synthetic_batch(child, min(chunk_size, n_journeys - i * chunk_size))


def synthetic_records(batch: JourneyBatch) -> tuple[list[TouchRecord], list[Conversion]]:
    """Turn a batch back into ledger records (one customer per journey), sorted by customer."""
    touches: list[TouchRecord] = []
    conversions: list[Conversion] = []
    end = 100 * DAY
    for j in range(batch.n_journeys):
        customer = f"c{j:09d}"
        for k in range(int(batch.offsets[j]), int(batch.offsets[j + 1])):
            touches.append(
                TouchRecord(
                    customer,
                    batch.agents[int(batch.agent[k])],
                    batch.channels[int(batch.channel[k])],
                    end - float(batch.age[k]),
                    outcome="go" if batch.delivered[k] else "stop",
                )
            )
        if batch.converted[j]:
            conversions.append(Conversion(customer, end, float(batch.value[j])))
    return touches, conversions


def bench_attribution(
    n_journeys: int = 1_000_000,
    seed: int = 0,
    chunk_size: int = 100_000,
    by: str = "agent",
    object_sample: int = 50_000,
    measure_memory: bool = True,
) -> dict[str, Any]:
    """Journeys/second per model, peak memory, and the object-path rate; JSON-ready."""
    accs = {m: make_accumulator(m, by) for m in MODELS}
    seconds = dict.fromkeys(MODELS, 0.0)
    for batch in synthetic_history(n_journeys, seed, chunk_size):
        for name, acc in accs.items():
            start = time.perf_counter()
            acc.update(batch)
            seconds[name] += time.perf_counter() - start
    for name, acc in accs.items():
        start = time.perf_counter()
        acc.finish()
        seconds[name] += time.perf_counter() - start
    out: dict[str, Any] = {
        "n_journeys": n_journeys,
        "chunk_size": chunk_size,
        "seed": seed,
        "by": by,
        "journeys_per_s": {m: round(n_journeys / max(s, 1e-9)) for m, s in seconds.items()},
        "seconds": {m: round(s, 4) for m, s in seconds.items()},
    }
    if measure_memory:
        tracemalloc.start()
        traced = {m: make_accumulator(m, by) for m in MODELS}
        for batch in synthetic_history(n_journeys, seed, chunk_size):
            for acc in traced.values():
                acc.update(batch)
        for acc in traced.values():
            acc.finish()
        out["peak_traced_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    if object_sample:
        batch = next(synthetic_history(object_sample, seed + 1, object_sample))
        touches, conversions = synthetic_records(batch)
        start = time.perf_counter()
        journeys = list(build_journeys(touches, conversions))
        built = time.perf_counter() - start
        start = time.perf_counter()
        attribute(journeys, "linear", by)
        encoded = time.perf_counter() - start
        out["object_path_journeys_per_s"] = {
            "build_journeys": round(len(journeys) / built),
            "encode_and_linear": round(len(journeys) / encoded),
        }
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    out["max_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20, 1
    )
    return out
