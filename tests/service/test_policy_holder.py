"""The policy in force: read once per decision, swapped whole, never lost to a late rebuild."""

from __future__ import annotations

from typing import Any

from accord import Accord, Policy
from accord.service._policy import PolicyHolder
from accord.store import Tx

from ..conftest import EXAMPLE_POLICY


class _AdoptsWhileReadingSeats:
    """A real transaction that puts ``other`` in force the moment the seat registry is read:
    a policy applied by another thread (the housekeeper's refresh) in the middle of a
    decision's rebuild of its seat view."""

    def __init__(self, tx: Tx, holder: PolicyHolder, other: Policy) -> None:
        self.tx, self.holder, self.other = tx, holder, other

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        return self.tx.one(sql, params)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        if "FROM seats" in sql:
            self.holder.adopt(self.other)
        return self.tx.rows(sql, params)


def test_a_policy_adopted_during_a_seat_rebuild_stays_in_force(acc: Accord) -> None:
    text = EXAMPLE_POLICY.read_text()
    file = acc.policy
    acc.pause_seat("reengage", by="person:cto", reason="tone review")
    newer = Policy.from_text(text.replace("max_depth: 20", "max_depth: 21", 1))
    assert newer.version != file.version
    holder = PolicyHolder(file)
    with acc.store.read() as tx:
        used = holder.current(_AdoptsWhileReadingSeats(tx, holder, newer))  # type: ignore[arg-type]
    # the decision in flight keeps the view it built, under the file it built it from …
    assert used.version == file.version
    assert used.agents["reengage"].status == "paused"
    # … and the newer file is what the next decision reads, with the registry merged into it
    assert holder.file is newer
    with acc.store.read() as tx:
        nxt = holder.current(tx)
    assert nxt.version == newer.version and nxt.agents["reengage"].status == "paused"


def test_each_decision_records_the_version_of_the_policy_that_decided_it(acc: Accord) -> None:
    text = EXAMPLE_POLICY.read_text()
    other = Policy.from_text(text.replace("max_depth: 20", "max_depth: 22", 1))
    first = acc.propose("upsell", "c1", channel="email", intent="upsell")
    acc.policy = other
    second = acc.propose("upsell", "c2", channel="email", intent="upsell")
    assert (first.policy_version, second.policy_version) == (
        Policy.from_text(text).version, other.version)
