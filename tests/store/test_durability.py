"""The durability choices of a store: what each promises, and a throwaway store for simulations."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord import Accord
from accord._errors import InvalidInput
from accord.policy import Policy
from accord.simulate._arms import Coordinated

from ..conftest import Clock


def _synchronous(acc: Accord) -> int:
    with acc.store.read() as tx:
        row = tx.one("PRAGMA synchronous")
    assert row is not None
    return int(next(iter(row.values())))


def test_a_throwaway_store_decides_verifies_and_reopens_like_a_durable_one(
        tmp_path: Path, clock: Clock, policy: Policy) -> None:
    path = tmp_path / "throwaway.db"
    with Accord.open(path, policy=policy, clock=clock, durability="off") as acc:
        assert _synchronous(acc) == 0
        ids = []
        for i in range(5):
            clock.advance(86400)
            ids.append(acc.propose("email-cadence", f"c{i}", channel="email",
                                   intent="nurture").id)
        assert acc.verify_ledger().ok
    with Accord.open(path, policy=policy, clock=clock) as acc:  # closed cleanly: all there
        assert [acc.decision(i).id for i in ids] == ids
        assert acc.verify_ledger().entries == len(ids)
        assert _synchronous(acc) == 2  # durability is the opener's choice, not the file's


@pytest.mark.parametrize("durability", ["OFF", "none", "extra; DROP TABLE meta", ""])
def test_an_unknown_durability_is_refused_naming_the_choices(
        tmp_path: Path, policy: Policy, durability: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Accord.open(tmp_path / "a.db", policy=policy, durability=durability)
    assert caught.value.where == "durability"
    assert "'full', 'normal', 'off'" in str(caught.value)


def test_a_simulation_keeps_its_store_throwaway(policy: Policy) -> None:
    arm = Coordinated(policy)
    try:
        assert _synchronous(arm.acc) == 0
    finally:
        arm.close()


def test_the_store_bench_reports_the_bytes_each_decision_and_bare_transaction_write() -> None:
    from accord.bench import bench_store

    out = bench_store(n=40, customers=8, rounds=2)
    # every commit appends at least one page (4 KB) to the write-ahead log
    assert out["bytes_per_decision"] >= 4096
    assert out["bare_bytes_per_tx"] >= 4096
