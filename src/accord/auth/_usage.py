"""Which protocol each agent speaks: the ``interfaces`` rows that the fleet audit reads.

Kept cheap: calls are counted in memory and written in batches, so the decision path never
waits on them. With ``every`` (MCP, A2A), the first call of an agent is written at once (so an
audit sees a new speaker immediately) and after that at most once per ``every`` seconds; without
it (HTTP, whose ``note`` runs on the event loop) only ``flush()`` writes, which the server calls
every few seconds and when it stops. A crash loses at most that window's count, never a decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from accord.store import Store
from accord.store import _interfaces as rows


class Usage:
    def __init__(self, store: Store, protocol: str = "http", *, every: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.protocol = protocol
        self.every = every
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, float]] = {}   # agent → (calls, last call at)
        self._written: dict[str, float] = {}               # agent → when last written

    def note(self, agent: str) -> None:
        """Count one call by ``agent``; with ``every``, write if it is new or the window has
        passed."""
        now = time.monotonic()
        with self._lock:
            calls, _ = self._pending.get(agent, (0, 0.0))
            self._pending[agent] = (calls + 1, self.clock())
            if self.every is None:
                return
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
        if batch:
            with self.store.write() as tx:
                rows.record(tx, self.protocol, batch)
