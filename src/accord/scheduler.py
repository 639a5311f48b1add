"""The scheduler: re-decides kept proposals (``on_defer: reschedule``) when they fall due.

One pass (:meth:`Scheduler.run_once`) reads the due rows and, for each, calls the service,
which re-checks the row under its customer's lock and re-decides it through the same gate path
as a new proposal, recording the decision and moving the row on in one transaction. Two
replicas that read the same due row serialize on that lock; the second finds it no longer due
and skips it, so each re-decision happens once. Nothing is held between transactions, so a
replica that dies mid-pass leaves every row as it was or fully advanced: no lease to expire.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from accord.service._passes import Passes
from accord.store import _scheduled as kept

if TYPE_CHECKING:
    from accord.service import Accord

log = logging.getLogger(__name__)


@dataclass
class SchedulerReport:
    """What one pass did: the kept proposals it re-decided, those that lapsed, and those it
    could not re-decide (with the error; they stay waiting and the next pass tries again)."""

    decided: list[str] = field(default_factory=list)
    lapsed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.decided) + len(self.lapsed)


class Scheduler:
    """Runs passes in a background thread every ``interval`` seconds (``accord serve`` starts
    one per replica); ``batch`` bounds the rows one pass reads."""

    def __init__(self, service: Accord, *, interval: float = 1.0, batch: int = 200) -> None:
        self.service, self.interval, self.batch = service, interval, batch
        self._passes = Passes(lambda: self.run_once().total, name="accord-scheduler",
                              interval=self.interval)

    def run_once(self) -> SchedulerReport:
        report = SchedulerReport()
        with self.service.store.read() as tx:
            due = kept.due(tx, self.service.clock(), self.batch)
        for item in due:
            try:
                what = self.service._redecide(item["customer"], item["id"])
            except Exception as exc:  # one row's failure must not hold up the rest of the pass
                log.warning("could not re-decide kept proposal %s: %s", item["id"], exc)
                report.failed[item["id"]] = f"{type(exc).__name__}: {exc}"
                continue
            if what == "decided":
                report.decided.append(item["id"])
            elif what == "lapsed":
                report.lapsed.append(item["id"])
        return report

    def start(self) -> None:
        self._passes.start()

    def stop(self) -> None:
        self._passes.stop()

