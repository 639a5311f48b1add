"""Keeping the cyclic garbage collector's full collections off the serving path.

After start-up a server holds ~160,000 tracked objects that live as long as it does: the
policy, compiled conditions, pydantic and FastAPI schemas, routes, imported modules. A full
(generation 2) collection traverses every one of them — 90–112 ms of CPU on the project's
machine, several times a minute under load — and each one stalls every request in flight,
which is what made the p99 (issue 12). ``gc.freeze()`` moves them into the permanent
generation, which no collection traverses; what a full collection still visits is only what
was allocated since.

The generation-2 threshold is also raised (10 → 100 collections of generation 1): request
garbage is almost all acyclic and freed by reference counting, so what reaches generation 2 is
long-lived state (caches, pooled connections) that a frequent full collection would only
re-traverse. Cycles are still collected, ten times less often.

Freezing is process-wide. Several apps may run in one process (tests, a host that mounts two):
the first to start freezes and the last to stop unfreezes and restores the thresholds.
"""

from __future__ import annotations

import gc
import threading

GEN2_THRESHOLD = 100
"""Generation-1 collections between full collections while serving (CPython's default: 10)."""

_lock = threading.Lock()
_holders = 0
_saved: tuple[int, int, int] | None = None


def freeze() -> None:
    """Collect once, then freeze everything alive (call when start-up has built the app)."""
    global _holders, _saved
    with _lock:
        _holders += 1
        if _holders == 1:
            _saved = gc.get_threshold()
            gen0, gen1, gen2 = _saved
            gc.set_threshold(gen0, gen1, max(gen2, GEN2_THRESHOLD))
        gc.collect()  # garbage from start-up is freed, not frozen
        gc.freeze()


def thaw() -> None:
    """Undo ``freeze`` when the last app in this process stops."""
    global _holders, _saved
    with _lock:
        _holders = max(0, _holders - 1)
        if _holders == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None
            gc.unfreeze()
