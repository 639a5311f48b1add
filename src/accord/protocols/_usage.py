"""Which protocol each agent speaks: the ``interfaces`` table that the fleet audit reads.

Kept cheap: the first call of an agent is written at once (so an audit sees a new speaker
immediately); after that calls are counted in memory and written at most once per ``every``
seconds, plus a final write on ``flush()`` when the server stops. A crash loses at most that
window's count, never a decision.
"""

from __future__ import annotations

import threading
import time

from accord.ledger import FLEET
from accord.service import Accord

UPSERT = ("INSERT INTO interfaces (agent, protocol, last_at, count) VALUES (?,?,?,?) "
          "ON CONFLICT (agent, protocol) DO UPDATE SET last_at = excluded.last_at, "
          "count = interfaces.count + excluded.count")


class Usage:
    def __init__(self, service: Accord, protocol: str, *, every: float = 10.0) -> None:
        self.service = service
        self.protocol = protocol
        self.every = every
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, float]] = {}   # agent → (calls, last call at)
        self._written: dict[str, float] = {}               # agent → when last written

    def note(self, agent: str) -> None:
        """Count one call by ``agent``; write if it is new or the window has passed."""
        now = time.monotonic()
        with self._lock:
            calls, _ = self._pending.get(agent, (0, 0.0))
            self._pending[agent] = (calls + 1, self.service.clock())
            last = self._written.get(agent)
            if last is not None and now - last < self.every:
                return
            self._written[agent] = now
            batch = {agent: self._pending.pop(agent)}
        self._write(batch)

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, {}
        self._write(batch)

    def _write(self, batch: dict[str, tuple[int, float]]) -> None:
        if not batch:
            return
        with self.service.store.lock(FLEET) as tx:
            for agent, (calls, at) in batch.items():
                tx.execute(UPSERT, (agent, self.protocol, at, calls))
