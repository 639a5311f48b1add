"""What every part of the service shares, and the one unit every write goes through.

``Runtime`` holds the store, the clock, the bus, telemetry and the policy in force; each
component of ``Accord`` keeps a reference to it and nothing else of the others' state, so
swapping the clock or the bus (a test, ``accord serve``) reaches every part at once.

``Runtime.write(customer)`` is the write unit: lock the customer, read its row, let the caller
write rows and ledger entries and queue bus messages, save the row (only what changed: the chain
head, or the whole row when the context moved), commit, and only then publish and run what was
deferred to after the commit. An exception anywhere inside rolls everything back and publishes
nothing. ``Runtime.write(None)`` is the same without a customer lock, for rows outside every
chain (``Store.write``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from accord import ledger
from accord._time import Clock
from accord.model import Proposal
from accord.service._policy import PolicyHolder
from accord.store import Store, Tx
from accord.store import _rows as rows
from accord.store._base import CustomerRow
from accord.store.bus import Bus, Message
from accord.telemetry import Phases, Telemetry


@dataclass(slots=True)
class Write:
    """One write in progress: its transaction, the locked customer's row, the messages to
    publish after commit and the callbacks to run then."""

    tx: Tx
    row: CustomerRow
    published: list[Message] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    _saved: tuple[int, int] = (-1, -1)

    def ledger(self, kind: str, at: float, *, agent: str | None = None,
               trace_id: str | None = None, parent_id: str | None = None,
               ref: str | None = None, body: dict[str, Any] | str) -> str:
        """Append an entry to the locked customer's chain (saved with the row)."""
        return ledger.append(self.tx, self.row, kind, at, agent=agent, trace_id=trace_id,
                             parent_id=parent_id, ref=ref, body=body)

    def publish(self, *messages: Message) -> None:
        """Queue messages for the bus; they go out after the commit, never before."""
        self.published.extend(messages)

    def save(self) -> None:
        """Save what changed on the row now (the unit saves at the end in any case): the
        whole row when the context moved, else only the chain head, else nothing."""
        state = (self.row.version, self.row.chain_seq)
        if state == self._saved:
            return
        if self.row.version != self._saved[0]:
            self.tx.save_customer(self.row)
        else:
            rows.save_chain(self.tx, self.row)
        self._saved = state


@dataclass(slots=True)
class Runtime:
    store: Store
    clock: Clock
    bus: Bus
    telemetry: Telemetry
    policies: PolicyHolder

    @contextmanager
    def write(self, customer: str) -> Iterator[Write]:
        """The write unit for ``customer`` (or a fleet chain such as ``ledger.FLEET``)."""
        with self.store.lock(customer) as tx:
            w = self._begin(tx)
            yield w
            w.save()
        self._after(w)

    @contextmanager
    def decision(self, p: Proposal) -> Iterator[tuple[Write, Phases]]:
        """The write unit of a decision on ``p``'s customer, recorded by telemetry from before
        the lock until the commit (publishing is not part of the decision's time)."""
        with self.telemetry.decision(p) as ph, self.store.lock(p.customer) as tx:
            w = self._begin(tx)
            yield w, ph
            w.save()
        self._after(w)

    @staticmethod
    def _begin(tx: Tx) -> Write:
        row = tx.customer()
        w = Write(tx, row)
        w._saved = (row.version, row.chain_seq)
        return w

    @contextmanager
    def write_unlocked(self, *, durable: bool = True) -> Iterator[Tx]:
        """A write transaction that locks no customer: rows outside every chain."""
        with self.store.write(durable=durable) as tx:
            yield tx

    def _after(self, w: Write) -> None:
        self.bus.publish(w.published)
        for callback in w.after_commit:
            callback()
