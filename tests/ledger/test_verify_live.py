"""``verify`` reads one consistent snapshot, so live writes never look like tampering."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from accord import Accord
from accord.policy import Policy
from tests.conftest import Clock


@pytest.fixture
def busy(any_acc: Accord) -> Iterator[Accord]:
    """``any_acc`` with a writer thread recording events for a handful of customers."""
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            any_acc.record_event(f"c{n % 7}", "login", data={"n": n})
            n += 1

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    yield any_acc
    stop.set()
    writer.join()


def test_verify_during_live_writes_raises_no_alarm(busy: Accord) -> None:
    reports = [busy.verify_ledger() for _ in range(150)]
    alarms = [p for r in reports for p in r.problems]
    assert alarms == []
    assert reports[-1].entries > reports[0].entries, "the writer did not write during verify"


def test_verify_still_names_a_removed_tail_after_live_writes(
        store_url: str, clock: Clock, policy: Policy) -> None:
    acc = Accord.open(store_url, policy=policy, clock=clock)
    try:
        for n in range(5):
            acc.record_event("c1", "login", data={"n": n})
        with acc.store.lock("c1") as tx:
            tx.execute("DELETE FROM ledger WHERE chain = 'c1' AND chain_seq = 5")
        report = acc.verify_ledger()
    finally:
        acc.close()
    assert not report.ok
    assert any("entries were removed from the end" in p for p in report.problems)
