"""``verify`` reads one consistent snapshot, so live writes never look like tampering."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from accord import Accord
from accord.policy import Policy
from tests.conftest import Clock

WRITES = 300


@pytest.fixture
def busy(any_acc: Accord) -> Iterator[tuple[Accord, threading.Thread]]:
    """``any_acc`` with a writer thread recording WRITES events for a handful of customers."""
    stop = threading.Event()

    def write() -> None:
        for n in range(WRITES):
            if stop.is_set():
                return
            any_acc.record_event(f"c{n % 7}", "login", data={"n": n})

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    yield any_acc, writer
    stop.set()
    writer.join()


def test_verify_during_live_writes_raises_no_alarm(
        busy: tuple[Accord, threading.Thread]) -> None:
    acc, writer = busy
    reports = [acc.verify_ledger()]
    while reports[-1].entries < WRITES:
        writing = writer.is_alive()
        reports.append(acc.verify_ledger())
        assert writing or reports[-1].entries == WRITES, "the writer stopped early"
    assert [p for r in reports for p in r.problems] == []
    assert len({r.entries for r in reports}) > 2, "verify never ran between two writes"


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
