"""The policy in force: one holder for the file's policy and the seat registry's view of it.

Each decision reads it once, inside its own transaction (``PolicyHolder.current``): one
primary-key read of the registry's version mark, and the seats are merged again only when it
moved. What it returns is immutable (``InForce`` is swapped whole, under a lock), so a policy
applied or adopted by another thread — the housekeeper's ``refresh_policy`` — can never change
the rules halfway through a decision, and the version a decision records is the one it was
decided under.

The version is the file's. The registry changes the seats a file declares (a pause, a run-time
seat) but not the policy: those changes are in the fleet chain of the ledger, and a decision
names the policy text it ran under, which the ``policies`` table keeps (an applied one, or the
file a replica started from, recorded with its first decision).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from accord.fleet._seats import Registry, reconcile
from accord.ledger import FLEET
from accord.policy import Policy
from accord.store import Store, Tx
from accord.store import _policies as policies
from accord.store import _seats as seats

if TYPE_CHECKING:
    from accord.service._runtime import Runtime

REFRESH_EVERY = 1.0
"""Seconds between checks for a policy applied by another replica."""

_UNREAD: Final = "<unread>"
"""The registry mark of a view built before the registry was read (never a real mark)."""


@dataclass(frozen=True, slots=True)
class InForce:
    """The file (or applied text), the policy that decides (the file with the registry's
    seats, carrying the file's version) and the registry mark it was built from."""

    file: Policy
    policy: Policy
    seats: str | None


def merged(file: Policy, registry: list[Registry]) -> Policy:
    """``file`` with the registry's seats; the file's version (see the module docstring)."""
    if not registry:
        return file
    return dataclasses.replace(file.with_agents(reconcile(file, registry).specs),
                               version=file.version)


class PolicyHolder:
    def __init__(self, file: Policy) -> None:
        self._lock = threading.Lock()
        self._now = InForce(file, file, _UNREAD)
        self._recorded: set[str] = set()
        self.seen_applied = 0.0
        """``applied_at`` of the newest applied row this replica has seen."""
        self.next_refresh = time.monotonic() + REFRESH_EVERY

    @property
    def now(self) -> InForce:
        return self._now

    @property
    def policy(self) -> Policy:
        """The policy as last read (no store access): what reports and shells show."""
        return self._now.policy

    @property
    def file(self) -> Policy:
        return self._now.file

    def adopt(self, file: Policy) -> None:
        """Put a new file in force; the registry's seats are merged into it on the next read."""
        with self._lock:
            self._now = InForce(file, file, _UNREAD)

    def current(self, tx: Tx) -> Policy:
        """The policy to decide under, read once per decision inside its transaction: the
        registry's changes (a pause) hold from the next decision on, on every replica."""
        now = self._now
        mark = seats.version(tx)
        if mark == now.seats:
            return now.policy
        if mark is None:  # no seat was ever changed at run time: the file alone
            view = InForce(now.file, now.file, None)
        else:
            view = InForce(now.file, merged(now.file, [Registry.from_row(r)
                                                       for r in seats.every(tx)]), mark)
        with self._lock:
            if self._now.file is now.file:  # a file adopted meanwhile wins; it is read anew
                self._now = view
        return view.policy

    def read(self, store: Store) -> Policy:
        """``current`` in a read transaction of its own."""
        with store.read() as tx:
            return self.current(tx)

    # -- the policies table --------------------------------------------------------------------

    def record(self, tx: Tx, policy: Policy) -> str | None:
        """Keep the text of ``policy`` in the ``policies`` table if this replica has not yet
        (the caller marks it recorded after its commit: ``recorded``). Its version, or None."""
        if policy.version in self._recorded:
            return None
        policies.loaded(tx, policy.version, policy.text, policy.source)
        return policy.version

    def recorded(self, version: str) -> None:
        self._recorded.add(version)

    def due(self) -> bool:
        """Whether it is time to look for a policy another replica applied."""
        return time.monotonic() >= self.next_refresh

    def refresh(self, store: Store) -> bool:
        """Adopt the newest applied policy if it is newer than what this replica has seen and
        not the file in force already; True if it changed."""
        self.next_refresh = time.monotonic() + REFRESH_EVERY
        with store.read() as tx:
            if policies.newest_at(tx) <= self.seen_applied:
                return False
            r = policies.newest(tx)
        assert r is not None
        self.seen_applied = float(r["applied_at"])
        if r["version"] == self._now.file.version:
            return False
        new = Policy.from_text(r["text"], source=f"policy {r['version']}")
        self.adopt(new)
        self._recorded.add(new.version)
        return True

    def applied(self, store: Store, new: Policy) -> None:
        """After ``new`` was applied and committed here: put it in force."""
        self.adopt(new)
        self._recorded.add(new.version)
        with store.read() as tx:
            self.seen_applied = policies.newest_at(tx)

    def first_seen(self, store: Store) -> None:
        """At start: applies made before now are not news (the file given wins until the
        next apply)."""
        with store.read() as tx:
            self.seen_applied = policies.newest_at(tx)


def apply(rt: Runtime, text: str, *, by: str, source: str) -> Policy:
    """Validate ``text``, store it for every replica, record it in the fleet chain (a
    fleet-wide change: it takes the fleet chain) and put it in force here."""
    new = Policy.from_text(text, source=source)
    now = rt.clock()
    with rt.write(FLEET) as w:
        policies.applied(w.tx, new.version, text, now, by)
        w.ledger("policy", now, body={"version": new.version,
                                      "previous": rt.policies.file.version, "by": by})
    rt.policies.applied(rt.store, new)
    return new
