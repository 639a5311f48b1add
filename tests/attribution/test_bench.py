"""The benchmark runs, is deterministic, and reports what it promises."""

from __future__ import annotations

from accord.attribution import attribute, bench_attribution
from accord.attribution._bench import synthetic_history


def test_synthetic_history_is_deterministic_for_a_seed() -> None:
    a = attribute(synthetic_history(5000, seed=7, chunk_size=1000), "linear")
    b = attribute(synthetic_history(5000, seed=7, chunk_size=1000), "linear")
    assert a.credit == b.credit and a.journeys == 5000 and a.conversions > 0


def test_bench_reports_rates_for_every_model_and_memory() -> None:
    out = bench_attribution(20_000, chunk_size=5000, object_sample=500)
    assert set(out["journeys_per_s"]) == {
        "first_touch",
        "last_touch",
        "linear",
        "time_decay",
        "position",
        "markov",
        "shapley",
    }
    assert all(v > 0 for v in out["journeys_per_s"].values())
    assert out["peak_traced_mib"] > 0 and out["object_path_journeys_per_s"]["build_journeys"] > 0
